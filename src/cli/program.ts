// Every `carapace` command, its options and help, on commander. The actions live in their own modules; each
// loads the configuration only when it runs, so `--help` has no side effects.
import { Command } from 'commander';
import { addChannelCommands, channelSummaries, renderChannels, type ChannelSummary } from './channel.js';
import { chat } from './chat.js';
import { writeJson, type CliContext } from './context.js';
import { doctorReport, renderDoctor } from './doctor.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { imageBuild } from './image.js';
import { start } from './start.js';
import { addGroupCommands } from './groups.js';
import { addSessions } from './sessions.js';
import { renderStatus, statusReport, type StatusReport } from './status.js';
import { renderTasks, runTaskNow, taskSummaries } from './tasks.js';
import { logout, pair, parsePhone, status as whatsappStatus, type WhatsAppCliOptions } from './whatsapp.js';
import { withStore } from './with-store.js';

const JSON_HELP = 'print the result as JSON';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('carapace')
    .description('A personal AI assistant whose agents run in sandboxes.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out.write(s), writeErr: (s) => ctx.err.write(s) })
    .showHelpAfterError('(`carapace help` lists the commands)')
    .addHelpText('after', EXIT_CODES_HELP);
  /** Keep the exit code an action returned. */
  const exitWith = (code: number | void) => {
    ctx.exitCode = code ?? EXIT.ok;
  };

  program
    .command('start')
    .description('run the assistant (web chat on 127.0.0.1, see CARAPACE_WEB_PORT); one per data directory')
    .addHelpText('after', '\nExits 4 when another Carapace already runs on the same data directory.')
    .action(() => start(ctx));
  program
    .command('chat')
    .description('talk to the running assistant from this terminal')
    .addHelpText('after', '\nExits 3 when Carapace is not running.')
    .action(async () => exitWith(await chat(ctx)));
  program
    .command('status')
    .description("groups, today's and this month's spend, runs and pending deliveries")
    .option('--json', JSON_HELP)
    .action(async (o: { json?: boolean }) => {
      const channels = await channelSummaries(ctx);
      const render = (r: StatusReport & { channels: ChannelSummary[] }) => `${renderStatus(r)}\n${renderChannels(r.channels)}`;
      await withStore(
        ctx,
        (store, config) => print(ctx, o.json, { ...statusReport(store, config), channels }, render),
        o.json ? { groups: [], runsInProgress: 0, recentRuns: [], pendingDeliveries: 0, channels } : undefined,
      );
    });
  program
    .command('doctor')
    .description('which sandbox backends work here, their limits, how to install the missing ones; the bot channels')
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nExits 1 when the configured backend cannot run here.')
    .action(async (o: { json?: boolean }) => {
      const config = ctx.config();
      const report = { ...(await doctorReport(config)), channels: await channelSummaries(ctx) };
      print(ctx, o.json, report, (r) => `${renderDoctor(r, config)}\n${renderChannels(r.channels)}`);
      exitWith(report.chosen ? EXIT.ok : EXIT.failure);
    });
  addImage(program, ctx);
  addTasks(program, ctx);
  addGroupCommands(program, ctx);
  addSessions(program, ctx);
  addWhatsApp(program, ctx, exitWith);
  addChannelCommands(program, ctx, exitWith);
  return program;
}

/** Data as JSON, or as the text `render` makes of it. */
function print<T>(ctx: CliContext, json: boolean | undefined, data: T, render: (data: T) => string): void {
  if (json) writeJson(ctx, data);
  else ctx.out.write(`${render(data)}\n`);
}

function addImage(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('the agent image for Docker, Podman and Apple Container');
  image
    .command('build')
    .description('build the agent image (only if its inputs changed)')
    .option('--force', 'build even if an image for these inputs exists')
    .action((o: { force?: boolean }) => imageBuild(ctx, o.force === true));
}

function addTasks(program: Command, ctx: CliContext): void {
  const tasks = program.command('tasks').description('scheduled tasks: list them (the default), or run one now');
  tasks
    .command('list', { isDefault: true })
    .description('scheduled tasks with their next run and last result')
    .option('--json', JSON_HELP)
    .action((o: { json?: boolean }) =>
      withStore(
        ctx,
        (store, config) => print(ctx, o.json, taskSummaries(store, config.timeZone), (s) => renderTasks(s, config.timeZone)),
        o.json ? [] : undefined,
      ),
    );
  tasks
    .command('run')
    .description('run a task once, now (its schedule is unchanged)')
    .argument('<id>', 'the task id, as `carapace tasks` lists it')
    .action((id: string) => withStore(ctx, async (store, config) => void ctx.out.write(`${await runTaskNow(config, store, id)}\n`)));
}

function addWhatsApp(program: Command, ctx: CliContext, exitWith: (code: number) => void): void {
  const options = (): WhatsAppCliOptions => ({ config: ctx.config(), out: ctx.out, ...ctx.whatsapp });
  const whatsapp = program.command('whatsapp').description('link this computer to WhatsApp, see the link, or remove it');
  whatsapp
    .command('pair')
    .description('link WhatsApp: scan the QR code shown here (and on the web page), or enter a pairing code on the phone')
    .option('--phone <number>', 'get a pairing code for this number (with country code) instead of a QR code', parsePhone)
    .action(async (o: { phone?: string }) => exitWith(await pair(o.phone, options())));
  whatsapp
    .command('status')
    .description('whether this computer is paired, and the running Carapace’s connection')
    .option('--json', JSON_HELP)
    .action(async (o: { json?: boolean }) => exitWith(await whatsappStatus(options(), o.json)));
  whatsapp
    .command('logout')
    .description('remove the WhatsApp login from this computer (stop Carapace first)')
    .action(async () => exitWith(await logout(options())));
}
