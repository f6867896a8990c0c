// Every `carapace` command, its options and help, on commander. The actions live in their own modules; each
// loads the configuration only when it runs, so `--help` has no side effects.
import { Command } from 'commander';
import { checkModelAccess, describeCheck } from '../boundary/model-check.js';
import { addChannelCommands, channelSummaries, renderChannels } from './channel.js';
import { addSecretCommands } from './secret.js';
import { chat } from './chat.js';
import { positiveInt, printResult, type CliContext } from './context.js';
import { doctorReport, renderDoctor } from './doctor.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { imageBuild } from './image.js';
import { addAudit } from './audit.js';
import { addGroupCommands } from './groups.js';
import { addLogs } from './logs.js';
import { addOpen } from './open.js';
import { addService } from './service.js';
import { addSessions } from './sessions.js';
import { addSetup } from './setup.js';
import { start } from './start.js';
import { addStatus } from './status-command.js';
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
    .option('--wait <seconds>', 'with piped input (`echo hi | carapace chat`): how long to wait for the reply', positiveInt, 600)
    .addHelpText('after', '\nWith piped input it sends each line, prints the reply and exits (1 when none came in time).\nExits 3 when Carapace is not running.')
    .action(async (o: { wait: number }) => exitWith(await chat(ctx, o.wait)));
  addStatus(program, ctx);
  program
    .command('doctor')
    .description('which sandbox backends work here, their limits, how to install the missing ones; the bot channels')
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nChecks the model key and endpoint with one tiny real call. Exits 1 when the configured backend cannot run\nhere, or the model API refuses the key or cannot be reached.')
    .action(async (o: { json?: boolean }) => {
      const config = ctx.config();
      const report = { ...(await doctorReport(config)), model: await checkModelAccess(config), channels: await channelSummaries(ctx) };
      printResult(ctx, o.json, report, (r) => `${renderDoctor(r, config)}\n${describeCheck(r.model)}\n${renderChannels(r.channels)}`);
      exitWith(report.chosen && !(report.model.ok === false && report.model.kind !== 'no-credentials') ? EXIT.ok : EXIT.failure);
    });
  addImage(program, ctx);
  addTasks(program, ctx);
  addGroupCommands(program, ctx);
  addSessions(program, ctx);
  addWhatsApp(program, ctx, exitWith);
  addChannelCommands(program, ctx, exitWith);
  addSetup(program, ctx);
  addAudit(program, ctx);
  addLogs(program, ctx);
  addOpen(program, ctx);
  addService(program, ctx);
  addSecretCommands(program, ctx);
  return program;
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
        (store, config) => printResult(ctx, o.json, taskSummaries(store, config.timeZone), (s) => renderTasks(s, config.timeZone)),
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
