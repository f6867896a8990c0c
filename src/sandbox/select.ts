// Choosing the sandbox backend: CARAPACE_RUNTIME names one, or `auto` takes the first that works here, in the
// order a user of this OS most likely expects (an engine they already run, then the daemonless fallback).
import path from 'node:path';
import { AppleRuntime } from './apple.js';
import { BwrapRuntime } from './bwrap.js';
import { DockerRuntime, PodmanRuntime } from './docker.js';
import type { EngineRuntime } from './engine.js';
import type { ImageConfig } from './image.js';
import { PrepareMemory } from './prepare-memory.js';
import type { Availability, RuntimeKind, SandboxRuntime } from './runtime.js';

export interface RuntimeOptions {
  /** Per-install state (bwrap records, engines' generated /etc files), under the data directory. */
  stateDir: string;
  image: ImageConfig;
  /** The engines' CLI environment; the host's by default. */
  env?: NodeJS.ProcessEnv;
  /** Idle shared-network holders Docker keeps (one per recently active group); CARAPACE_MAX_SANDBOXES in the app. */
  maxSharedNetworks?: number;
}

/**
 * `auto`'s preference order on each OS. On Linux bubblewrap comes first where its self-test passes: it needs no
 * image (nothing to build or pull) and starts fastest; the engines follow for machines without user namespaces.
 */
export function autoOrder(platform: string = process.platform): RuntimeKind[] {
  return platform === 'darwin' ? ['apple', 'docker', 'podman'] : ['bwrap', 'docker', 'podman'];
}

export function createRuntime(kind: RuntimeKind, opts: RuntimeOptions): SandboxRuntime {
  if (kind === 'bwrap') return new BwrapRuntime({ stateDir: opts.stateDir });
  const engine = { stateDir: path.join(opts.stateDir, kind), image: opts.image, env: opts.env, maxSharedNetworks: opts.maxSharedNetworks };
  if (kind === 'docker') return new DockerRuntime(engine);
  if (kind === 'podman') return new PodmanRuntime(engine);
  return new AppleRuntime(engine);
}

export const usesImage = (rt: SandboxRuntime): rt is EngineRuntime => rt.kind !== 'bwrap';

export interface Probed {
  runtime: SandboxRuntime;
  availability: Availability;
}

/** Every candidate of `kinds`, probed concurrently. */
export async function probeRuntimes(kinds: RuntimeKind[], opts: RuntimeOptions, make = createRuntime): Promise<Probed[]> {
  return Promise.all(
    kinds.map(async (kind) => {
      const runtime = make(kind, opts);
      return { runtime, availability: await runtime.available() };
    }),
  );
}

/**
 * The backend to use, prepared (its agent image built) and ready to run agents, or an error that says what was
 * tried and how to fix it. With `auto`, a backend that is installed but cannot be prepared (say, no registry to
 * pull its base image from) gives way to the next one that works.
 */
export async function selectRuntime(
  setting: RuntimeKind | 'auto',
  opts: RuntimeOptions,
  make = createRuntime,
  platform: string = process.platform,
  progress: (line: string) => void = () => undefined,
): Promise<SandboxRuntime> {
  const kinds = setting === 'auto' ? autoOrder(platform) : [setting];
  const memory = new PrepareMemory(opts.stateDir, opts.image);
  const failures: string[] = [];
  for (const { runtime, availability } of await probeRuntimes(kinds, opts, make)) {
    const remembered = setting === 'auto' ? memory.failure(runtime.kind) : undefined;
    if (!availability.ok || remembered) {
      const why = availability.ok ? `could not be prepared on ${remembered!.at} (${remembered!.reason}); \`carapace image build\` tries again` : availability.reason;
      failures.push(`  ${runtime.kind}: ${why}`);
      if (remembered) progress(`${runtime.kind} skipped: it ${why}`);
      continue;
    }
    try {
      await runtime.prepare(progress);
      memory.forget(runtime.kind);
      return runtime;
    } catch (err) {
      failures.push(`  ${runtime.kind}: could not prepare it: ${(err as Error).message}`);
      if (setting === 'auto') {
        memory.remember(runtime.kind, (err as Error).message);
        progress(`${runtime.kind} could not be prepared; trying the next backend (it is skipped from now on)`);
      }
    }
  }
  throw new Error(
    (setting === 'auto'
      ? `No sandbox backend works on this machine (tried ${kinds.join(', ')}):\n${failures.join('\n')}\nRun \`carapace doctor\` for details.`
      : `CARAPACE_RUNTIME=${setting}, but it cannot run here:\n${failures.join('\n')}`) +
      '\nWithout registry access, build a base with container/build-base.sh and set CARAPACE_BASE_IMAGE; or set CARAPACE_RUNTIME=bwrap (Linux).',
  );
}
