// Docker and Podman backends: the same hardened `create` flags (Podman accepts Docker's), differing in how they
// list containers, report limits and (Podman) map users and rlimits.
import fs from 'node:fs';
import { firstLine, runCli, type CliResult } from './cli.js';
import { assertPlainPaths, EngineRuntime, type ContainerInfo, type CreateContext, type EngineOptions } from './engine.js';
import type { Availability, LimitsReport, SandboxExit, SandboxSpec } from './runtime.js';
import { containerHardening, SANDBOX_HOME } from './spec.js';
import { installHint } from './install-hints.js';
import { SharedNetworks } from './shared-netns.js';

/** Idle shared-network holders kept at most unless told (each costs ~15 MB: the engine's shim, init and sleep). */
const DEFAULT_SHARED_NETWORKS = 5;

/**
 * The `docker create` argv (after the binary). Hardened by default: no network, no capabilities, no privilege
 * gain, read-only root with tmpfs /tmp and home, an init that forwards signals and reaps zombies, the limits, and
 * only the spec's mounts. For podman, pass its extra flags (they go right before the image): podman also spells
 * "tmpfs owned by the container user" differently (U; docker: uid=,gid=).
 */
export function dockerCreateArgs(spec: SandboxSpec, ctx: CreateContext, podman?: string[]): string[] {
  assertPlainPaths(spec, ',');
  for (const p of [ctx.passwd, ctx.group]) if (p.includes(',')) throw new Error(`state path ${p} contains ","`);
  const { uid, gid } = ctx.user;
  const a = ['create', '--name', spec.name]; // no --rm: its record says whether the OOM killer ran (see limitHit)
  for (const [k, v] of Object.entries(spec.labels)) a.push('--label', `${k}=${v}`);
  a.push(
    // A shared namespace is a holder's `--network none` one; its holder also carries the hostname.
    ...(ctx.joinNetworkOf ? ['--network', `container:${ctx.joinNetworkOf}`] : ['--network', 'none', '--hostname', 'sandbox']),
    ...containerHardening(ctx.user),
    '--tmpfs', '/tmp:rw,nosuid,nodev,mode=1777',
    '--tmpfs', `${SANDBOX_HOME}:rw,nosuid,nodev,mode=0700,${podman ? 'U' : `uid=${uid},gid=${gid}`}`,
    '--mount', `type=bind,src=${ctx.passwd},dst=/etc/passwd,readonly`,
    '--mount', `type=bind,src=${ctx.group},dst=/etc/group,readonly`,
  );
  for (const m of spec.mounts) a.push('--mount', `type=bind,src=${m.host},dst=${m.sandbox}${m.readonly ? ',readonly' : ''}`);
  const { memoryMb, pids, cpus } = spec.limits;
  if (memoryMb !== undefined) a.push('--memory', `${memoryMb}m`, '--memory-swap', `${memoryMb}m`); // equal: no swap
  if (pids !== undefined) a.push('--pids-limit', String(pids));
  if (cpus !== undefined) a.push('--cpus', String(cpus));
  a.push('--workdir', spec.workdir);
  for (const [k, v] of Object.entries(spec.env)) a.push('--env', `${k}=${v}`);
  a.push(...(podman ?? []), ctx.image, ...spec.command);
  return a;
}

/** "k=v,k2=v2" (docker ps's Labels column; spec labels contain no separators) as a record. */
export function parseLabelList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of text.split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    out[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
  }
  return out;
}

const labelFilters = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);

function unreachable(kind: string, r: CliResult, extra = ''): Availability {
  if (r.missing) return { ok: false, reason: `${kind} is not installed. ${installHint(kind)}` };
  return { ok: false, reason: `${kind} is installed but not usable: ${firstLine(r)}${extra}. ${installHint(kind)}` };
}

export class DockerRuntime extends EngineRuntime {
  readonly kind: 'docker' | 'podman' = 'docker';

  constructor(opts: EngineOptions) {
    super('docker', opts);
    this.sharedNetworks = new SharedNetworks(this.cli, opts.maxSharedNetworks ?? DEFAULT_SHARED_NETWORKS);
  }

  createArgs(spec: SandboxSpec, ctx: CreateContext): string[] {
    return dockerCreateArgs(spec, ctx);
  }

  protected async probe(): Promise<Availability> {
    const r = await runCli(this.cli, ['version', '--format', '{{.Server.Version}}'], 15_000);
    if (r.code === 0) return { ok: true };
    const host = this.cli.env.DOCKER_HOST ? ` (DOCKER_HOST=${this.cli.env.DOCKER_HOST})` : '';
    return unreachable('docker', r, r.missing ? '' : `; is the daemon running and may this user use it${host}?`);
  }

  async limitsEnforced(): Promise<LimitsReport> {
    const r = await runCli(this.cli, ['info', '--format', '{{json .}}'], 15_000);
    if (r.code !== 0) return { memory: false, pids: false, cpu: false, mechanism: 'none', note: `docker info failed: ${firstLine(r)}` };
    const info = JSON.parse(r.stdout) as {
      MemoryLimit?: boolean; PidsLimit?: boolean; CpuCfsQuota?: boolean; CgroupVersion?: string; SecurityOptions?: string[];
    };
    const rootless = (info.SecurityOptions ?? []).some((o) => o.includes('rootless'));
    return {
      memory: !!info.MemoryLimit,
      pids: !!info.PidsLimit,
      cpu: !!info.CpuCfsQuota,
      mechanism: `docker (cgroup v${info.CgroupVersion ?? '?'})`,
      ...(rootless ? { note: 'rootless docker: mounted dirs must be writable by the mapped sandbox uid' } : {}),
    };
  }

  /**
   * The engine records whether the OOM killer ran in the container. A refused fork leaves no such record, and
   * the container's pids cgroup (whose counter would say) is gone by the time its client returns.
   */
  override async limitHit(name: string): Promise<SandboxExit['limit']> {
    const r = await runCli(this.cli, ['inspect', '--format', '{{.State.OOMKilled}}', name], 15_000);
    return r.code === 0 && r.stdout.trim() === 'true' ? 'memory' : undefined;
  }

  protected async listContainers(labels: Record<string, string>, all: boolean): Promise<ContainerInfo[]> {
    const r = await runCli(this.cli, ['ps', ...(all ? ['-a'] : []), '--no-trunc', ...labelFilters(labels), '--format', '{{.Names}}\t{{.State}}\t{{.Labels}}']);
    if (r.code !== 0) throw new Error(`${this.kind} ps failed: ${firstLine(r)}`);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, state, labelText = ''] = line.split('\t');
        return { name, running: state === 'running', labels: parseLabelList(labelText) };
      });
  }
}

/** Soft and hard limits of this process from /proc/self/limits ("unlimited" → -1), keyed by the row's name. */
export function ownRlimits(text = fs.existsSync('/proc/self/limits') ? fs.readFileSync('/proc/self/limits', 'utf8') : ''): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const line of text.split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out[m[1]] = [m[2], m[3]].map((v) => (v === 'unlimited' ? -1 : Number(v))) as [number, number];
  }
  return out;
}

/** conmon, podman's container monitor, runs with this RLIMIT_NPROC (measured); a container may not ask for more. */
const CONMON_NPROC = 32768;

/**
 * Podman extras. Rootless: `--userns keep-id` so the invoking user stays itself inside and owns what it writes.
 * Always: explicit nofile/nproc ulimits within our own hard limits; podman otherwise asks for more than a
 * process without CAP_SYS_RESOURCE may set ("error setting rlimit type 7"), unless containers.conf sets
 * default_ulimits. nproc is not the sandbox's pids cap (that is --pids-limit): it counts the uid host-wide.
 */
export function podmanUlimits(rlimits: Record<string, [number, number]> = ownRlimits()): string[] {
  const a: string[] = [];
  const nofile = rlimits['Max open files']?.[1];
  const nproc = rlimits['Max processes']?.[1];
  if (nofile !== undefined && nofile >= 0) a.push('--ulimit', `nofile=${nofile}:${nofile}`);
  const n = nproc === undefined || nproc < 0 ? CONMON_NPROC : Math.min(nproc, CONMON_NPROC);
  a.push('--ulimit', `nproc=${n}:${n}`);
  return a;
}

export function podmanExtraArgs(rootless: boolean, rlimits?: Record<string, [number, number]>): string[] {
  return [...(rootless ? ['--userns', 'keep-id'] : []), ...podmanUlimits(rlimits)];
}

interface PodmanInfo {
  host?: { cgroupVersion?: string; cgroupControllers?: string[]; security?: { rootless?: boolean } };
}

export class PodmanRuntime extends DockerRuntime {
  override readonly kind = 'podman' as const;
  private info?: Promise<PodmanInfo | undefined>;

  constructor(opts: EngineOptions) {
    super({ ...opts, bin: opts.bin ?? 'podman' });
    this.sharedNetworks = undefined; // podman's own namespace setup is not measured slow: each sandbox gets its own
  }

  private podmanInfo(): Promise<PodmanInfo | undefined> {
    return (this.info ??= runCli(this.cli, ['info', '--format', 'json'], 30_000).then((r) =>
      r.code === 0 ? (JSON.parse(r.stdout) as PodmanInfo) : undefined,
    ));
  }

  private rootless(): boolean {
    return process.getuid?.() !== 0;
  }

  override createArgs(spec: SandboxSpec, ctx: CreateContext): string[] {
    return dockerCreateArgs(spec, ctx, podmanExtraArgs(this.rootless()));
  }

  /** RUN steps start containers too, with the same rlimit problem. */
  override buildArgs(tag: string, dockerfile: string, buildArgs: Record<string, string>, context: string): string[] {
    const [verb, ...rest] = super.buildArgs(tag, dockerfile, buildArgs, context);
    return [verb, ...podmanUlimits(), ...rest];
  }

  protected override async probe(): Promise<Availability> {
    const r = await runCli(this.cli, ['info', '--format', 'json'], 30_000);
    return r.code === 0 ? { ok: true } : unreachable('podman', r);
  }

  override async limitsEnforced(): Promise<LimitsReport> {
    const host = (await this.podmanInfo())?.host;
    const ctrls = host?.cgroupControllers ?? [];
    const v = host?.cgroupVersion ?? '?';
    if (host?.security?.rootless && v === 'v1')
      return { memory: false, pids: false, cpu: false, mechanism: 'none', note: 'rootless podman ignores resource limits on cgroup v1; use cgroup v2 or rootful podman' };
    return { memory: ctrls.includes('memory'), pids: ctrls.includes('pids'), cpu: ctrls.includes('cpu'), mechanism: `podman (cgroup ${v})` };
  }

  protected override async listContainers(labels: Record<string, string>, all: boolean): Promise<ContainerInfo[]> {
    const r = await runCli(this.cli, ['ps', ...(all ? ['-a'] : []), ...labelFilters(labels), '--format', 'json']);
    if (r.code !== 0) throw new Error(`podman ps failed: ${firstLine(r)}`);
    const rows = JSON.parse(r.stdout || '[]') as { Names?: string[]; State?: string; Labels?: Record<string, string> | null }[];
    return rows.map((c) => ({ name: c.Names?.[0] ?? '', running: c.State === 'running', labels: c.Labels ?? {} }));
  }
}
