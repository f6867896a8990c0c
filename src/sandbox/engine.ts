// Backends driven through a container engine's command-line tool (docker, podman, Apple's `container`): create a
// named, labelled container from the agent image, attach to it, stop it with a signal and a grace period, and find
// leftovers by label. The container outlives a killed CLI client; its name and labels are how we find it again.
// An ended container is asked which resource limit it hit (`limitHit`) before it is removed.
// Subclasses supply the engine's dialect: argv, list format, availability probe and limit report.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PassThrough } from 'node:stream';
import { APP_ROOT } from '../app-root.js';
import { giveToSandbox } from '../fs/paths.js';
import { firstLine, runCli, type Cli } from './cli.js';
import { DEFAULT_BASE_IMAGE, ensureAgentImage, type ImageConfig, type ImageEngine } from './image.js';
import type {
  Availability,
  LimitsReport,
  SandboxExit,
  SandboxHandle,
  SandboxInfo,
  SandboxRuntime,
  SandboxSpec,
} from './runtime.js';
import { HOLDER_LABEL, SharedNetworks, type NetworkLease } from './shared-netns.js';
import { checkSpec, etcFiles, labelsMatch, mergeOutput, sleep } from './spec.js';

export interface EngineOptions {
  /** Directory for per-sandbox files (the generated /etc/passwd and /etc/group). */
  stateDir: string;
  /** The engine's binary; its usual name on PATH by default. */
  bin?: string;
  /** How to build the agent image (from `appRoot`, the project by default). */
  image?: ImageConfig;
  appRoot?: string;
  /** The CLI's environment; the host's by default, so DOCKER_HOST and friends are honoured. */
  env?: NodeJS.ProcessEnv;
  /** At most this many idle shared-network holders are kept (engines that share namespaces; see shared-netns.ts). */
  maxSharedNetworks?: number;
}

export interface ContainerInfo {
  name: string;
  labels: Record<string, string>;
  running: boolean;
}

/** What the argv builders need besides the spec. */
export interface CreateContext {
  image: string;
  /** The uid/gid the command runs as (see `EngineRuntime.sandboxUser`). */
  user: { uid: number; gid: number };
  /** Host files to mount read-only over /etc/passwd and /etc/group. */
  passwd: string;
  group: string;
  /** This sandbox's state directory (holds those files and any `scratchDirs`). */
  dir: string;
  /** A running container whose (loopback-only) network namespace the sandbox joins, instead of a fresh one. */
  joinNetworkOf?: string;
}

/** Exit codes above 128 from an engine mean "killed by signal code-128" (137 = SIGKILL, e.g. the OOM killer). */
export function exitFromCode(code: number | null): SandboxExit {
  if (code !== null && code > 128) {
    const signal = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (signal) return { code: null, signal: signal as NodeJS.Signals };
  }
  return { code, signal: null };
}

/** Reject paths that a comma- or colon-separated engine option cannot carry. */
export function assertPlainPaths(spec: SandboxSpec, forbidden: string): void {
  for (const m of spec.mounts)
    for (const p of [m.host, m.sandbox])
      if ([...forbidden].some((c) => p.includes(c)))
        throw new Error(`sandbox "${spec.name}": mount path ${p} contains one of "${forbidden}", which this engine's mount syntax cannot express`);
}

export class EngineHandle implements SandboxHandle {
  readonly output: PassThrough;
  readonly exited: Promise<SandboxExit>;
  private done = false;
  private removed: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly client: ChildProcess,
    private readonly engine: EngineRuntime,
    onClose: (exit: SandboxExit) => Promise<void>,
  ) {
    this.output = mergeOutput([client.stdout!, client.stderr!]);
    this.exited = new Promise((resolve) => {
      client.on('close', (code, signal) => {
        // A killed client says nothing about the container, which keeps running: ask the engine.
        // An engine that cannot say (its CLI failed, the VM service went away) still ends the handle: the run
        // must not wait forever for an exit nobody will report.
        const unknown: SandboxExit = { code: null, signal: signal ?? 'SIGKILL' };
        const exit = signal === null ? Promise.resolve(exitFromCode(code)) : engine.waitFor(name, signal).catch(() => unknown);
        void exit.then(async (e) => {
          this.done = true;
          // Ask which limit killed it while the container still exists; the removal need not delay the run.
          const limit = e.code === 0 ? undefined : await engine.limitHit(name).catch(() => undefined);
          this.removed = onClose(e).catch(() => {});
          resolve(limit ? { ...e, limit } : e);
        });
      });
    });
  }

  /** The exit, once the container and its state files are removed too. */
  private async gone(): Promise<SandboxExit> {
    const exit = await this.exited;
    await this.removed;
    return exit;
  }

  /** The attached CLI client's pid (the container's processes live under the engine). */
  get pid(): number | undefined {
    return this.client.pid;
  }

  /**
   * SIGTERM to the container's init (which forwards it), SIGKILL after `graceMs`, repeated for at most
   * `killMs`: an engine that never confirms the exit does not hold the caller forever (the container is then
   * reported killed; orphan cleanup at the next start removes it if it somehow lives on). Resolves once the
   * container is removed, so a shutdown leaves none behind.
   */
  async stop(graceMs = 2000, killMs = 10_000): Promise<SandboxExit> {
    if (this.done) return this.gone();
    await this.engine.signal(this.name, 'TERM');
    const gone = this.exited.then(() => 'gone' as const);
    if ((await Promise.race([gone, sleep(graceMs)])) === 'gone') return this.gone();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), killMs)));
    try {
      // Repeat: a container still being started refuses signals until it runs.
      for (;;) {
        const kill = this.engine.signal(this.name, 'KILL').then(() => sleep(250));
        const outcome = await Promise.race([gone, late, kill]);
        if (outcome === 'gone') return this.gone();
        if (outcome === 'late') return { code: null, signal: 'SIGKILL' };
      }
    } finally {
      clearTimeout(timer);
    }
  }

}

export abstract class EngineRuntime implements SandboxRuntime, ImageEngine {
  abstract readonly kind: 'docker' | 'podman' | 'apple';
  readonly cli: Cli;
  /** The agent image sandboxes run from; set by `prepare()`. */
  image?: string;
  protected readonly stateDir: string;
  private readonly imageConfig: ImageConfig;
  private readonly appRoot: string;
  private readonly live = new Map<string, EngineHandle>();
  private readonly starting = new Set<string>();
  /** Set by engines whose fresh network namespaces are slow to set up. */
  protected sharedNetworks?: SharedNetworks;
  private availability?: Promise<Availability>;
  private ready?: Promise<void>;

  constructor(defaultBin: string, opts: EngineOptions) {
    this.cli = { bin: opts.bin ?? defaultBin, env: opts.env ?? process.env };
    this.stateDir = opts.stateDir;
    this.imageConfig = opts.image ?? { base: DEFAULT_BASE_IMAGE, chromium: false };
    this.appRoot = opts.appRoot ?? APP_ROOT;
  }

  /** The full argv (after the binary) that creates the sandbox's container without starting it. */
  abstract createArgs(spec: SandboxSpec, ctx: CreateContext): string[];
  abstract limitsEnforced(): Promise<LimitsReport>;
  protected abstract probe(): Promise<Availability>;
  /** Containers carrying all of `labels`; with `all`, stopped and never started ones too. */
  protected abstract listContainers(labels: Record<string, string>, all: boolean): Promise<ContainerInfo[]>;

  buildArgs(tag: string, dockerfile: string, buildArgs: Record<string, string>, context: string): string[] {
    return ['build', '-t', tag, '-f', dockerfile, ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), context];
  }
  async imageExists(tag: string): Promise<boolean> {
    return (await runCli(this.cli, ['image', 'inspect', tag])).code === 0;
  }
  protected startArgs(name: string): string[] {
    return ['start', '-a', name];
  }
  protected signalArgs(name: string, signal: 'TERM' | 'KILL'): string[] {
    return ['kill', '-s', signal, name];
  }
  protected removeArgs(names: string[]): string[] {
    return ['rm', '-f', ...names];
  }
  /** Writable per-sandbox host dirs (name → mode) created in the state dir, for engines without usable tmpfs. */
  protected scratchDirs(): Record<string, number> {
    return {};
  }
  /** argv that blocks until the container ends and prints its exit code; undefined when the engine has none. */
  protected waitArgs(name: string): string[] | undefined {
    return ['wait', name];
  }

  /**
   * As root, the sandbox runs as the spec's user (the host chowns its mounts to it). Otherwise it runs as the
   * invoking user, the owner of the mounted dirs: the engine maps no user namespace that would translate it.
   */
  sandboxUser(spec: SandboxSpec): { uid: number; gid: number } {
    const uid = process.getuid?.();
    return uid === undefined || uid === 0 ? spec.user : { uid, gid: process.getgid!() };
  }

  available(): Promise<Availability> {
    return (this.availability ??= this.probe());
  }

  /** Make sure the agent image for the current code exists (building it if not). Safe to call repeatedly. */
  prepare(onProgress?: (line: string) => void): Promise<void> {
    this.ready ??= this.ensureImage(onProgress).then(
      () => undefined,
      (err: Error) => {
        this.ready = undefined; // let a later call try again
        throw err;
      },
    );
    return this.ready;
  }

  /** Build the agent image for the current code unless it exists (or always, with `force`). */
  async ensureImage(onProgress?: (line: string) => void, force = false): Promise<{ tag: string; built: boolean }> {
    const result = await ensureAgentImage(this, this.appRoot, this.imageConfig, onProgress, force);
    this.image = result.tag;
    return result;
  }

  async start(spec: SandboxSpec): Promise<EngineHandle> {
    checkSpec(spec);
    for (const m of spec.mounts)
      if (!fs.existsSync(m.host)) throw new Error(`sandbox "${spec.name}": mount source ${m.host} does not exist`);
    if (this.live.has(spec.name) || this.starting.has(spec.name)) throw new Error(`sandbox "${spec.name}" is already running`);
    this.starting.add(spec.name);
    try {
      await this.prepare();
      return await this.createAndAttach(spec);
    } finally {
      this.starting.delete(spec.name);
    }
  }

  private async createAndAttach(spec: SandboxSpec): Promise<EngineHandle> {
    const user = this.sandboxUser(spec);
    const dir = path.join(this.stateDir, spec.name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(this.stateDir, 0o755);
    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(spec.labels)); // first: it marks the dir as ours
    const [[, passwd], [, group]] = etcFiles(user);
    const lease = await this.joinNetwork(spec, user);
    const ctx: CreateContext = { image: this.image!, user, passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group'), dir, joinNetworkOf: lease?.holder };
    fs.writeFileSync(ctx.passwd, passwd, { mode: 0o644 });
    fs.writeFileSync(ctx.group, group, { mode: 0o644 });
    for (const [sub, mode] of Object.entries(this.scratchDirs())) {
      fs.mkdirSync(path.join(dir, sub), { mode });
      fs.chmodSync(path.join(dir, sub), mode);
      giveToSandbox(path.join(dir, sub), user);
    }

    const created = await runCli(this.cli, this.createArgs(spec, ctx));
    if (created.code !== 0) {
      await lease?.release(true);
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not start sandbox "${spec.name}": ${this.kind} create: ${firstLine(created)}`);
    }
    const client = spawn(this.cli.bin, this.startArgs(spec.name), { env: this.cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('spawn', resolve);
        client.once('error', reject);
      });
    } catch (e) {
      await lease?.release(true);
      await this.remove([spec.name]);
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not start sandbox "${spec.name}": ${(e as Error).message}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const handle = new EngineHandle(spec.name, client, this, async (exit) => {
      clearTimeout(timer);
      this.live.delete(spec.name);
      await lease?.release(exit.code !== 0);
      await this.remove([spec.name]); // docker and podman keep an ended container (no --rm) for `limitHit`
      fs.rmSync(dir, { recursive: true, force: true });
    });
    this.live.set(spec.name, handle);
    if (spec.limits.wallClockMs !== undefined) timer = setTimeout(() => void handle.stop(), spec.limits.wallClockMs);
    return handle;
  }

  /** The holder whose network namespace this sandbox joins, when the spec allows sharing and the engine shares. */
  private async joinNetwork(spec: SandboxSpec, user: { uid: number; gid: number }): Promise<NetworkLease | undefined> {
    const share = spec.network.share;
    if (!share || !this.sharedNetworks) return undefined;
    try {
      return await this.sharedNetworks.acquire(share, this.image!, user);
    } catch (e) {
      fs.rmSync(path.join(this.stateDir, spec.name), { recursive: true, force: true });
      throw new Error(`could not start sandbox "${spec.name}": ${(e as Error).message}`);
    }
  }

  /** Remove the shared-network holders this process started; its sandboxes are stopped already. */
  async close(): Promise<void> {
    await this.sharedNetworks?.closeAll();
  }

  /** Best effort: a container that is gone already needs no signal. */
  async signal(name: string, signal: 'TERM' | 'KILL'): Promise<void> {
    await runCli(this.cli, this.signalArgs(name, signal), 15_000);
  }

  /** How a container ended whose attached client was killed; the container may still be running. */
  async waitFor(name: string, clientSignal: NodeJS.Signals): Promise<SandboxExit> {
    const args = this.waitArgs(name);
    if (args) {
      const r = await runCli(this.cli, args, 2 ** 31 - 1);
      const code = Number(r.stdout.trim());
      if (r.code === 0 && Number.isInteger(code)) return exitFromCode(code);
    } else {
      while ((await this.listContainers({}, false)).some((c) => c.name === name)) await sleep(500);
    }
    return { code: null, signal: clientSignal };
  }

  /** Which resource limit an ended container hit, asked of the engine before the container is removed. */
  async limitHit(_name: string): Promise<SandboxExit['limit']> {
    return undefined; // an engine that keeps no such record cannot say
  }

  private async remove(names: string[]): Promise<void> {
    if (names.length) await runCli(this.cli, this.removeArgs(names), 60_000);
  }

  async stop(name: string, graceMs = 2000): Promise<void> {
    const h = this.live.get(name);
    if (h) {
      await h.stop(graceMs);
      return;
    }
    await this.signal(name, 'TERM');
    for (let t = 0; t < graceMs && (await this.listContainers({}, false)).some((c) => c.name === name); t += 250) await sleep(250);
    await this.remove([name]);
  }

  async list(labels: Record<string, string>): Promise<SandboxInfo[]> {
    const sandboxes = (await this.listContainers(labels, false)).filter((c) => !(HOLDER_LABEL in c.labels));
    return sandboxes.map((c) => ({ name: c.name, labels: c.labels, pid: this.live.get(c.name)?.pid }));
  }

  /** Remove this install's containers that no live handle owns (left by a crash), and their state files. */
  async cleanupOrphans(labels: Record<string, string>): Promise<number> {
    const orphans = (await this.listContainers(labels, true)).filter((c) => !this.live.has(c.name)).map((c) => c.name);
    if (orphans.length) this.sharedNetworks?.forget(); // holders may be among them
    await this.remove(orphans);
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(this.stateDir);
    } catch {
      // no state yet
    }
    for (const name of dirs) {
      if (this.live.has(name) || this.starting.has(name)) continue;
      try {
        const own = JSON.parse(fs.readFileSync(path.join(this.stateDir, name, 'labels.json'), 'utf8')) as Record<string, string>;
        if (labelsMatch(own, labels)) fs.rmSync(path.join(this.stateDir, name), { recursive: true, force: true });
      } catch {
        // not one of ours, or half-written by a crash: leave it
      }
    }
    return orphans.length;
  }
}
