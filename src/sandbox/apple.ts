// Apple Container backend (macOS 26+ on Apple silicon, `container` CLI ≥ 1.1.0): one lightweight VM per
// sandbox, driven like Docker. It cannot run on Linux CI, so its argv and availability check are unit-tested and
// the rest rests on Apple's documentation (see docs/runtimes.md for exactly what was and was not verified).
// Facts used: `-v host.sock:guest.sock` relays a host Unix socket into the VM (1.1.0+, per file, mode bits
// propagated); `--network none` leaves only loopback (1.1.0+); `--read-only`, `--init`, `--cap-drop`, `--ulimit`,
// `--memory`, `--cpus`, `--label`, `--rm` exist on `create`; `--mount` rejects non-directories, so only `-v` is used.
import os from 'node:os';
import { firstLine, runCli } from './cli.js';
import { assertPlainPaths, EngineRuntime, type ContainerInfo, type CreateContext, type EngineOptions } from './engine.js';
import { installHint } from './install-hints.js';
import type { Availability, LimitsReport, SandboxSpec } from './runtime.js';
import { labelsMatch, SANDBOX_HOME } from './spec.js';

export const APPLE_MIN_VERSION: [number, number, number] = [1, 1, 0];

export interface AppleHost {
  platform: string;
  arch: string;
  /** Darwin kernel release: 25.x is macOS 26. */
  release: string;
}

/**
 * The `container create` argv. Mapped from the Docker set: no `--security-opt` exists (the VM is the boundary;
 * capabilities are still dropped), no `--hostname`, and pids become RLIMIT_NPROC inside the VM (one sandbox per
 * VM, so per-uid counting is per sandbox). Home and /tmp are per-sandbox host dirs, whose ownership is known,
 * rather than tmpfs mounts whose owner the CLI cannot set.
 */
export function appleCreateArgs(spec: SandboxSpec, ctx: CreateContext): string[] {
  assertPlainPaths(spec, ':');
  const a = ['create', '--rm', '--name', spec.name];
  for (const [k, v] of Object.entries(spec.labels)) a.push('--label', `${k}=${v}`);
  a.push(
    '--network', 'none',
    '--cap-drop', 'ALL',
    '--read-only',
    '--init',
    '--user', `${ctx.user.uid}:${ctx.user.gid}`,
    '-v', `${ctx.dir}/tmp:/tmp`,
    '-v', `${ctx.dir}/home:${SANDBOX_HOME}`,
    '-v', `${ctx.passwd}:/etc/passwd:ro`,
    '-v', `${ctx.group}:/etc/group:ro`,
  );
  for (const m of spec.mounts) a.push('-v', `${m.host}:${m.sandbox}${m.readonly ? ':ro' : ''}`);
  const { memoryMb, pids, cpus } = spec.limits;
  if (memoryMb !== undefined) a.push('--memory', `${memoryMb}M`);
  if (cpus !== undefined) a.push('--cpus', String(Math.max(1, Math.ceil(cpus)))); // whole virtual CPUs
  if (pids !== undefined) a.push('--ulimit', `nproc=${pids}:${pids}`);
  a.push('--workdir', spec.workdir);
  for (const [k, v] of Object.entries(spec.env)) a.push('--env', `${k}=${v}`);
  a.push(ctx.image, ...spec.command);
  return a;
}

/** One entry of `container list --format json`; the status field changed shape between releases. */
interface AppleListEntry {
  configuration?: { id?: string; labels?: Record<string, string> };
  status?: string | { state?: string };
}

export function parseAppleList(json: string): ContainerInfo[] {
  return (JSON.parse(json || '[]') as AppleListEntry[]).map((e) => {
    const state = typeof e.status === 'string' ? e.status : e.status?.state;
    return { name: e.configuration?.id ?? '', labels: e.configuration?.labels ?? {}, running: state === 'running' };
  });
}

export class AppleRuntime extends EngineRuntime {
  readonly kind = 'apple' as const;
  private readonly host: AppleHost;

  constructor(opts: EngineOptions & { host?: AppleHost }) {
    super('container', opts);
    this.host = opts.host ?? { platform: process.platform, arch: process.arch, release: os.release() };
  }

  createArgs(spec: SandboxSpec, ctx: CreateContext): string[] {
    return appleCreateArgs(spec, ctx);
  }

  override buildArgs(tag: string, dockerfile: string, buildArgs: Record<string, string>, context: string): string[] {
    const [verb, ...rest] = super.buildArgs(tag, dockerfile, buildArgs, context);
    return [verb, '--progress', 'plain', ...rest];
  }
  protected override startArgs(name: string): string[] {
    return ['start', '--attach', name];
  }
  protected override removeArgs(names: string[]): string[] {
    return ['delete', '--force', ...names];
  }
  protected override waitArgs(): undefined {
    return undefined; // no `wait` verb: the engine polls the list instead
  }
  protected override scratchDirs(): Record<string, number> {
    return { tmp: 0o1777, home: 0o700 };
  }

  protected async probe(): Promise<Availability> {
    const { platform, arch, release } = this.host;
    const hint = installHint('apple', platform === 'darwin' ? 'macos' : 'other');
    if (platform !== 'darwin') return { ok: false, reason: hint };
    if (arch !== 'arm64') return { ok: false, reason: `Apple Container needs an Apple silicon Mac. ${hint}` };
    if (Number(release.split('.')[0]) < 25) return { ok: false, reason: `Apple Container needs macOS 26 or later. ${hint}` };
    const v = await runCli(this.cli, ['--version'], 15_000);
    if (v.missing) return { ok: false, reason: `the container CLI is not installed. ${hint}` };
    const m = /(\d+)\.(\d+)\.(\d+)/.exec(v.stdout);
    const have = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
    const newer = have.findIndex((n, i) => n !== APPLE_MIN_VERSION[i]);
    if (v.code !== 0 || (newer >= 0 && have[newer] < APPLE_MIN_VERSION[newer]))
      return { ok: false, reason: `container CLI ${m ? m[0] : `(${firstLine(v)})`} is too old: ${APPLE_MIN_VERSION.join('.')}+ relays the model socket and supports --network none. ${hint}` };
    const status = await runCli(this.cli, ['system', 'status'], 15_000);
    if (status.code !== 0) return { ok: false, reason: `the container services are not running (${firstLine(status)}): run \`container system start\`.` };
    return { ok: true };
  }

  async limitsEnforced(): Promise<LimitsReport> {
    return { memory: true, pids: true, cpu: true, mechanism: 'one virtual machine per sandbox', note: 'memory and CPUs size the VM; pids is RLIMIT_NPROC inside it' };
  }

  protected async listContainers(labels: Record<string, string>, all: boolean): Promise<ContainerInfo[]> {
    const r = await runCli(this.cli, ['list', ...(all ? ['--all'] : []), '--format', 'json']);
    if (r.code !== 0) throw new Error(`container list failed: ${firstLine(r)}`);
    return parseAppleList(r.stdout).filter((c) => labelsMatch(c.labels, labels) && (all || c.running));
  }
}
