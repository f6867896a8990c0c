// `carapace setup`: from a fresh clone to a working assistant. Inference first: the model credential is proven
// with a real call before anything else, then the sandbox (image built, a test sandbox run), the name, the
// channels and the service. Every step saves to the .env next to package.json (owner-only) as soon as it is
// proven, so a re-run starts from what is done and shows it; `--non-interactive` takes it all from flags.
import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config.js';
import type { CliContext } from './context.js';
import { DEFAULT_ENV_FILE, readEnvFile } from './env-file.js';
import { CliError, EXIT } from './exit.js';
import { setupChannels, setupName, setupService } from './setup-extras.js';
import { masked, setupModel } from './setup-model.js';
import { SetupRun, type SetupOptions } from './setup-run.js';
import { setupSandbox } from './setup-sandbox.js';

export function addSetup(program: Command, ctx: CliContext): void {
  program
    .command('setup')
    .description('set Carapace up step by step: model key, sandbox, name, channels, service (safe to re-run)')
    .option('--non-interactive', 'ask nothing: take everything from the options and the saved settings')
    .option('--api-key-file <file>', 'read the Anthropic API key from this file')
    .option('--oauth-token-file <file>', 'read a Claude Code OAuth token (`claude setup-token`) from this file')
    .addOption(new Option('--runtime <backend>', 'the sandbox backend').choices(['auto', 'bwrap', 'docker', 'podman', 'apple']))
    .option('--assistant-name <name>', 'what the assistant is called')
    .option('--no-channels', 'skip the chat channels step')
    .option('--service', 'install the service (`carapace service install`) without asking')
    .option('--settings <file>', 'the .env file the settings are written to', DEFAULT_ENV_FILE)
    .addHelpText('after', '\nEach step is saved (mode 0600) once proven; re-running shows what is done and checks it again.')
    .action(async (opts: SetupOptions) => {
      ctx.exitCode = await runSetup(ctx, opts, program);
    });
}

/** The settings as Carapace would load them: the environment over the file setup writes. */
function currentConfig(envFile: string): Config {
  return loadConfig({ ...readEnvFile(envFile), ...process.env }, { requireCredentials: false });
}

function summary(run: SetupRun, config: Config, file: Record<string, string>): void {
  const secret = file.ANTHROPIC_API_KEY || file.CLAUDE_CODE_OAUTH_TOKEN;
  run.say(`Carapace setup — settings in ${run.envFile}`);
  run.say(`  model credential: ${secret ? `saved (${masked(secret)})` : 'not saved yet'}`);
  run.say(`  sandbox:          ${file.CARAPACE_RUNTIME ? `CARAPACE_RUNTIME=${file.CARAPACE_RUNTIME}` : 'not chosen yet (auto)'}`);
  run.say(`  assistant name:   ${file.ASSISTANT_NAME ?? `${config.assistantName} (default)`}`);
}

export async function runSetup(ctx: CliContext, opts: SetupOptions, program: Command): Promise<number> {
  const envFile = opts.settings ?? DEFAULT_ENV_FILE;
  const interactive = !opts.nonInteractive;
  if (interactive && !process.stdin.isTTY)
    throw new CliError('`carapace setup` asks questions and needs a terminal; for scripts use --non-interactive with --api-key-file etc.', EXIT.usage);
  const run = new SetupRun(ctx, opts, envFile, interactive);
  summary(run, currentConfig(envFile), readEnvFile(envFile));
  run.step(1, 'Model access');
  await setupModel(run, currentConfig(envFile));
  run.step(2, 'Sandbox');
  await setupSandbox(run, currentConfig(envFile));
  run.step(3, 'Assistant');
  await setupName(run, currentConfig(envFile));
  run.step(4, 'Chat channels');
  await setupChannels(run, currentConfig(envFile));
  run.step(5, 'Service');
  await setupService(run, program);
  run.say(`\nDone. Settings are in ${envFile} (readable only by you). Start with \`carapace start\` (or \`npm start\`).`);
  return EXIT.ok;
}
