// `carapace service install|uninstall|status`: run Carapace as a user service — systemd on Linux (and WSL2 with
// systemd enabled), launchd on macOS — for the data directory configured now.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { APP_ROOT } from '../app-root.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { printResult, type CliContext } from './context.js';
import { CliError } from './exit.js';
import { runningInstance } from './instance-info.js';
import { LAUNCHD_LABEL, launchdPlist, SYSTEMD_UNIT_NAME, systemdUnit, type ServiceSpec } from './service-units.js';

/** The service manager here and the file it reads, or why there is none. */
type Manager =
  | { kind: 'systemd'; file: string; ctl: (...args: string[]) => Promise<Outcome> }
  | { kind: 'launchd'; file: string; ctl: (...args: string[]) => Promise<Outcome> };

interface Outcome {
  ok: boolean;
  output: string;
}

async function run(command: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { timeout: 30_000 });
    return { ok: true, output: `${stdout}${stderr}`.trim() };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message };
  }
}

const isWsl = () => existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') || !!process.env.WSL_DISTRO_NAME;

export function serviceManager(env: NodeJS.ProcessEnv = process.env, platform = process.platform): Manager {
  const home = env.HOME ?? '';
  if (platform === 'darwin') {
    const file = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    return { kind: 'launchd', file, ctl: (...args) => run('launchctl', args) };
  }
  if (platform !== 'linux') throw new CliError(`carapace service supports Linux (systemd) and macOS (launchd), not ${platform}.`);
  if (isWsl() && !existsSync('/run/systemd/system')) {
    throw new CliError('This WSL has no systemd: add "[boot]\\nsystemd=true" to /etc/wsl.conf, run `wsl --shutdown` from Windows, and try again.');
  }
  const file = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user', SYSTEMD_UNIT_NAME);
  return { kind: 'systemd', file, ctl: (...args) => run('systemctl', ['--user', ...args]) };
}

function serviceSpec(config: Config): ServiceSpec {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (process.env.CARAPACE_ENV_FILE) env.CARAPACE_ENV_FILE = process.env.CARAPACE_ENV_FILE;
  return {
    node: process.execPath,
    bin: join(APP_ROOT, 'bin', 'carapace.js'),
    appRoot: APP_ROOT,
    dataDir: config.dataDir,
    stderrFile: join(dataPaths(config.dataDir).logsDir, 'launchd-stderr.log'),
    env,
  };
}

const uid = () => process.getuid?.() ?? 0;

/** Ask the service manager to (re)load the file and start the service now and at every login. */
async function enableAndStart(m: Manager): Promise<Outcome> {
  if (m.kind === 'launchd') {
    await m.ctl('bootout', `gui/${uid()}/${LAUNCHD_LABEL}`); // an older copy; fails harmlessly when none
    return m.ctl('bootstrap', `gui/${uid()}`, m.file);
  }
  const reload = await m.ctl('daemon-reload');
  return reload.ok ? m.ctl('enable', '--now', SYSTEMD_UNIT_NAME) : reload;
}

async function install(ctx: CliContext, start: boolean): Promise<void> {
  const config = ctx.config();
  const m = serviceManager();
  const running = runningInstance(config.dataDir);
  if (start && running) {
    throw new CliError(
      `Carapace already runs for ${config.dataDir} (pid ${running.pid}): stop it first (Ctrl-C where it runs, or ` +
        '`carapace service uninstall` if it is this service), or use --no-start to only write the file.',
    );
  }
  const spec = serviceSpec(config);
  mkdirSync(dirname(m.file), { recursive: true });
  writeFileSync(m.file, m.kind === 'systemd' ? systemdUnit(spec) : launchdPlist(spec), { mode: 0o644 });
  ctx.out.write(`Wrote ${m.file} (data directory ${config.dataDir}).\n`);
  if (!start) return;
  const started = await enableAndStart(m);
  if (!started.ok) {
    const how = m.kind === 'systemd' ? `systemctl --user enable --now ${SYSTEMD_UNIT_NAME}` : `launchctl bootstrap gui/${uid()} ${m.file}`;
    throw new CliError(`The ${m.kind} service could not be started: ${started.output}\nThe file is in place; once that is fixed: ${how}`);
  }
  ctx.out.write(`Carapace runs as a ${m.kind} service and restarts if it fails. Logs: carapace logs -f\n`);
  if (m.kind === 'systemd') ctx.out.write(`To keep it running while you are logged out: loginctl enable-linger ${process.env.USER ?? '$USER'}\n`);
}

async function uninstall(ctx: CliContext): Promise<void> {
  const m = serviceManager();
  if (!existsSync(m.file)) return void ctx.out.write('No Carapace service is installed.\n');
  const stopped =
    m.kind === 'systemd' ? await m.ctl('disable', '--now', SYSTEMD_UNIT_NAME) : await m.ctl('bootout', `gui/${uid()}/${LAUNCHD_LABEL}`);
  rmSync(m.file, { force: true });
  if (m.kind === 'systemd') await m.ctl('daemon-reload');
  ctx.out.write(`Removed ${m.file}.${stopped.ok ? ' The service is stopped.' : ` (${m.kind} could not stop it: ${stopped.output})`}\n`);
}

interface ServiceStatus {
  manager: 'systemd' | 'launchd';
  file: string;
  installed: boolean;
  /** The data directory the installed service runs with. */
  dataDir: string | null;
  /** What the service manager says (`active`, `failed`, `running`, …), or why it could not be asked. */
  state: string;
  running: boolean;
}

async function serviceStatus(ctx: CliContext): Promise<ServiceStatus> {
  const m = serviceManager();
  const installed = existsSync(m.file);
  const text = installed ? readFileSync(m.file, 'utf8') : '';
  const dataDir = /CARAPACE_DATA_DIR=([^"\n]+)"/.exec(text)?.[1] ?? /<key>CARAPACE_DATA_DIR<\/key><string>([^<]+)</.exec(text)?.[1] ?? null;
  const asked = m.kind === 'systemd' ? await m.ctl('is-active', SYSTEMD_UNIT_NAME) : await m.ctl('print', `gui/${uid()}/${LAUNCHD_LABEL}`);
  const state = m.kind === 'launchd' ? (/^\s*state = (\S+)/m.exec(asked.output)?.[1] ?? asked.output) : asked.output;
  return { manager: m.kind, file: m.file, installed, dataDir, state: state.split('\n')[0], running: !!runningInstance(ctx.config().dataDir) };
}

function renderServiceStatus(s: ServiceStatus): string {
  if (!s.installed) return `No Carapace service is installed (${s.manager}: ${s.file}); \`carapace service install\` adds one.`;
  return [`Installed: ${s.file}`, `  data directory: ${s.dataDir ?? '?'}`, `  ${s.manager}: ${s.state}`, `  Carapace ${s.running ? 'is' : 'is not'} running`].join('\n');
}

export function addService(program: Command, ctx: CliContext): void {
  const service = program.command('service').description('run Carapace as a user service (systemd on Linux and WSL2, launchd on macOS)');
  service
    .command('install')
    .description('install the service for this checkout and data directory, and start it (it restarts when it fails)')
    .option('--no-start', 'only write the unit file')
    .action((o: { start: boolean }) => install(ctx, o.start));
  service.command('uninstall').description('stop the service and remove its unit file').action(() => uninstall(ctx));
  service
    .command('status')
    .description('whether the service is installed, what the service manager says, and whether Carapace runs')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => printResult(ctx, o.json, await serviceStatus(ctx), renderServiceStatus));
}
