// `carapace open`: print the running Carapace's web link (with its token) and open it in a browser where this
// machine has an opener (macOS `open`, WSL's `wslview`, `xdg-open` in a graphical session).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { localChatToken } from '../app.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { runningInstance } from './instance-info.js';

/** An executable of this name on PATH. */
function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this one
    }
  }
  return undefined;
}

/** The command that opens a URL in the owner's browser here, if there is one. */
export function browserOpener(platform = process.platform, env = process.env): string | undefined {
  if (platform === 'darwin') return onPath('open', env.PATH);
  if (platform !== 'linux') return undefined;
  if (env.WSL_DISTRO_NAME && onPath('wslview', env.PATH)) return onPath('wslview', env.PATH);
  return env.DISPLAY || env.WAYLAND_DISPLAY ? onPath('xdg-open', env.PATH) : undefined;
}

function open(ctx: CliContext, browser: boolean): void {
  const config = ctx.config();
  const info = runningInstance(config.dataDir);
  if (!info) throw new CliError(`Carapace is not running for ${config.dataDir} — start it with \`carapace start\`.`, EXIT.notRunning);
  const link = `${info.webUrl}#token=${localChatToken(config.dataDir)}`;
  ctx.out.write(`${link}\n`);
  const opener = browser ? browserOpener() : undefined;
  if (!opener) return;
  // Detached and silent: the browser outlives this command, and an opener's complaints are not ours.
  const child = spawn(opener, [link], { detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  child.unref();
}

export function addOpen(program: Command, ctx: CliContext): void {
  program
    .command('open')
    .description('print the web chat’s link (with its token) and open it in a browser when one is available')
    .option('--no-browser', 'only print the link')
    .addHelpText('after', '\nExits 3 when Carapace is not running.')
    .action((o: { browser: boolean }) => open(ctx, o.browser));
}
