// `carapace setup`, steps 3–5: the assistant's name, the chat channels, and running Carapace as a service.
import { prompts } from './prompts.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { APP_ROOT } from '../app-root.js';
import { readPairing } from '../channels/whatsapp/auth.js';
import { CHANNEL_PLUGINS } from '../channels/registry.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { addChannel, botPlugins } from './channel.js';
import { updateEnvFile } from './env-file.js';
import { CliError } from './exit.js';
import type { SetupRun } from './setup-run.js';
import { pair } from './whatsapp.js';

const NAME = /^[\p{L}\p{N}_ -]{1,40}$/u;

export async function setupName(run: SetupRun, config: Config): Promise<string> {
  let name = run.opts.assistantName ?? config.assistantName;
  if (run.interactive && !run.opts.assistantName)
    name = await (await prompts()).input({ message: 'What should the assistant be called?', default: name, validate: (v) => NAME.test(v.trim()) || '1–40 letters, digits, spaces, "-" or "_"' });
  name = name.trim();
  if (!NAME.test(name)) throw new CliError(`--assistant-name must be 1–40 letters, digits, spaces, "-" or "_", got "${name}".`);
  updateEnvFile(run.envFile, { ASSISTANT_NAME: name });
  run.done(`the assistant is called ${name} (in a group chat, people write @${name})`);
  return name;
}

/** Each bot channel's `channel add`, and WhatsApp pairing: offered on a terminal, listed otherwise. */
export async function setupChannels(run: SetupRun, config: Config): Promise<void> {
  if (run.opts.channels === false) return run.note('channels skipped (--no-channels)');
  for (const plugin of botPlugins()) {
    const account = plugin.setup.account(config);
    if (account) run.done(`${plugin.name}: ${account} (already set up)`);
    else if (run.interactive && (await (await prompts()).confirm({ message: `Set up ${plugin.name} now?`, default: false }))) await addChannel(run.ctx, plugin, {});
    else run.note(`${plugin.name}: not set up — \`carapace channel add ${plugin.name}\` when you want it`);
  }
  if (!CHANNEL_PLUGINS.some((p) => p.name === 'whatsapp')) return;
  if (readPairing(dataPaths(config.dataDir).whatsappAuth).paired) return run.done('WhatsApp: paired (already done)');
  if (run.interactive && (await (await prompts()).confirm({ message: 'Link WhatsApp now (scan a QR code with your phone)?', default: false }))) {
    await pair(undefined, { config, out: run.ctx.out });
  } else run.note('WhatsApp: not linked — `carapace whatsapp pair` when you want it');
}

/** Install the service with `carapace service install` where this version has it; otherwise say how to run it. */
export async function setupService(run: SetupRun, program: Command): Promise<void> {
  const hasService = program.commands.some((c) => c.name() === 'service');
  if (!hasService) {
    run.note('this version has no `carapace service` yet: run `carapace start` under your own supervisor (systemd, launchd, tmux).');
    return;
  }
  const wanted = run.opts.service ?? (run.interactive ? await (await prompts()).confirm({ message: 'Run Carapace as a service (starts at login, restarts on failure)?', default: true }) : false);
  if (!wanted) return run.note('service not installed — `carapace service install` when you want it');
  const r = spawnSync(process.execPath, [join(APP_ROOT, 'bin', 'carapace.js'), 'service', 'install'], { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
  run.say(`${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd());
  if (r.status !== 0) throw new CliError(`Setup stopped: \`carapace service install\` failed (exit ${r.status}).`);
  run.done('service installed');
}
