// `carapace image build`: the agent image for the container engines.
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { PrepareMemory } from '../sandbox/prepare-memory.js';
import { autoOrder, probeRuntimes, usesImage } from '../sandbox/select.js';
import type { CliContext } from './context.js';
import { CliError } from './exit.js';

/** The configured engine, or under `auto` the first engine that works here. */
async function imageEngine(config: Config) {
  if (config.runtime === 'bwrap')
    throw new CliError('CARAPACE_RUNTIME=bwrap runs no image; set CARAPACE_RUNTIME=docker, podman or apple to pick the engine to build with.');
  const kinds = config.runtime === 'auto' ? autoOrder().filter((k) => k !== 'bwrap') : [config.runtime];
  const probed = await probeRuntimes(kinds, { stateDir: dataPaths(config.dataDir).sandboxState, image: config.image });
  const engine = probed.find((p) => p.availability.ok)?.runtime;
  if (!engine || !usesImage(engine)) {
    const why = probed.map((p) => `  ${p.runtime.kind}: ${(p.availability as { reason: string }).reason}`).join('\n');
    throw new CliError(`no container engine works here:\n${why}`);
  }
  return engine;
}

/** Build the image unless it is up to date (or `force`); progress goes to stderr, the tag to stdout. */
export async function imageBuild(ctx: CliContext, force: boolean): Promise<void> {
  const engine = await imageEngine(ctx.config());
  const t0 = performance.now();
  const config = ctx.config();
  const memory = new PrepareMemory(dataPaths(config.dataDir).sandboxState, config.image);
  let result: { tag: string; built: boolean };
  try {
    result = await engine.ensureImage((line) => ctx.err.write(`${line}\n`), force);
  } catch (err) {
    memory.remember(engine.kind, (err as Error).message);
    throw err;
  }
  memory.forget(engine.kind); // `auto` may use it again
  const { tag, built } = result;
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  ctx.out.write(`${built ? tag : `${tag} is up to date (checked in ${took} s; --force rebuilds it)`}\n`);
}
