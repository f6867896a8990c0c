// `carapace setup`, step 2: pick the sandbox backend and prove it — build its agent image when it needs one (the
// build's progress and step times shown as they happen), then run one real test sandbox with it.
import { prompts } from './prompts.js';
import { APP_ROOT } from '../app-root.js';
import type { Config } from '../config.js';
import { installId } from '../core/recovery.js';
import { dataPaths } from '../fs/paths.js';
import { PrepareMemory } from '../sandbox/prepare-memory.js';
import { RUNTIME_KINDS, type RuntimeKind } from '../sandbox/runtime.js';
import { autoOrder, probeRuntimes, type Probed } from '../sandbox/select.js';
import { selfTest } from '../sandbox/self-test.js';
import { updateEnvFile } from './env-file.js';
import { CliError } from './exit.js';
import type { SetupRun } from './setup-run.js';

type Choice = RuntimeKind | 'auto';

function parseChoice(raw: string | undefined): Choice | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'auto' || (RUNTIME_KINDS as readonly string[]).includes(raw)) return raw as Choice;
  throw new CliError(`--runtime must be one of auto, ${RUNTIME_KINDS.join(', ')}; got "${raw}".`);
}

/** The backend a choice runs: the named one, or the first of `auto`'s order that works and has not failed. */
function resolve(choice: Choice, probed: Probed[], memory: PrepareMemory): Probed | undefined {
  if (choice !== 'auto') return probed.find((p) => p.runtime.kind === choice);
  return probed.find((p) => p.availability.ok && !memory.failure(p.runtime.kind));
}

async function ask(probed: Probed[], current: Choice): Promise<Choice> {
  const first = probed.find((p) => p.availability.ok)?.runtime.kind;
  const choices = [
    { name: `auto (now: ${first ?? 'none works'})`, value: 'auto' as Choice },
    ...probed.filter((p) => p.availability.ok).map((p) => ({ name: p.runtime.kind, value: p.runtime.kind as Choice })),
  ];
  return (await prompts()).select({ message: 'Which sandbox should run the agents?', choices, default: current });
}

/** Prepare and self-test one backend; a failure is remembered (so `auto` skips it) and reported. */
async function prove(run: SetupRun, config: Config, chosen: Probed, memory: PrepareMemory): Promise<boolean> {
  const { runtime } = chosen;
  const t0 = performance.now();
  try {
    await runtime.prepare((line) => run.say(`    ${line}`));
    const test = await selfTest(runtime, {
      appDir: APP_ROOT,
      user: { uid: config.sandbox.uid, gid: config.sandbox.gid },
      labels: { 'carapace.install': installId(config.dataDir) },
    });
    memory.forget(runtime.kind);
    run.done(`${runtime.kind} works: a test sandbox ran Node.js in ${test.ms} ms (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (err) {
    memory.remember(runtime.kind, (err as Error).message);
    run.failed(`${runtime.kind}: ${(err as Error).message}`);
    return false;
  }
}

/** Choose, prove and save the backend. */
export async function setupSandbox(run: SetupRun, config: Config): Promise<RuntimeKind> {
  const order = autoOrder();
  const kinds = [...order, ...RUNTIME_KINDS.filter((k) => !order.includes(k))];
  const stateDir = dataPaths(config.dataDir).sandboxState;
  const probed = await probeRuntimes(kinds, { stateDir, image: config.image });
  for (const p of probed) {
    if (p.availability.ok) run.note(`${p.runtime.kind}: available`);
    else run.note(`${p.runtime.kind}: ${p.availability.reason}`);
  }
  const memory = new PrepareMemory(stateDir, config.image);
  let choice = parseChoice(run.opts.runtime) ?? config.runtime;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (run.interactive && !run.opts.runtime) choice = await ask(probed, choice);
    const chosen = resolve(choice, probed, memory);
    if (!chosen?.availability.ok) {
      run.failed(chosen ? `${choice}: ${(chosen.availability as { reason: string }).reason}` : 'no sandbox backend works on this machine (see above)');
    } else if (await prove(run, config, chosen, memory)) {
      updateEnvFile(run.envFile, { CARAPACE_RUNTIME: choice });
      return chosen.runtime.kind;
    }
    // `auto` goes on to the next backend (the failed one is remembered); a named one stops here unless asking.
    if (choice !== 'auto' && (!run.interactive || run.opts.runtime)) break;
  }
  throw new CliError('Setup stopped: no sandbox backend passed its self-test. `carapace doctor` shows what each needs.');
}
