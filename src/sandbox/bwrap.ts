// bubblewrap backend: Linux namespaces, the host's /usr read-only, nothing else from the host but the spec's
// mounts, and a seccomp filter (seccomp-table.ts). Argv in bwrap-args.ts, limits in bwrap-limits.ts, process
// handling in bwrap-process.ts and bwrap-spawn.ts.

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { PassThrough } from 'node:stream';
import { allMounts, bwrapArgs, bwrapFdData } from './bwrap-args.js';
import { createCgroups, limitHit, planLimits, removeCgroups, withRlimits, type LimitPlan } from './bwrap-limits.js';
import { BWRAP_MISSING, findBwrap, probeBwrap } from './bwrap-probe.js';
import { forceKill, isOurBwrap, startTime, terminate } from './bwrap-process.js';
import { spawnBwrap } from './bwrap-spawn.js';
import { StateDir, type StateRecord } from './bwrap-state.js';
import type { Availability, LimitsReport, SandboxExit, SandboxHandle, SandboxInfo, SandboxRuntime, SandboxSpec } from './runtime.js';
import { seccompArch, seccompProgram } from './seccomp.js';
import { labelsMatch, mergeOutput, sleep } from './spec.js';

export { bwrapArgs, hostLayout, type HostLayout } from './bwrap-args.js';

export class BwrapHandle implements SandboxHandle {
  readonly output: PassThrough;
  readonly exited: Promise<SandboxExit>;
  private done = false;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    /** cgroup dirs this sandbox runs in (empty when limits are not enforced through cgroups). */
    readonly cgroups: string[],
    onClose: (exit: SandboxExit) => Promise<void>,
  ) {
    this.output = mergeOutput([child.stdout!, child.stderr!]);
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.done = true;
        const limit = code === 0 ? undefined : limitHit(cgroups); // read before onClose removes the cgroups
        const exit: SandboxExit = limit ? { code, signal, limit } : { code, signal };
        // Cleanup is best effort (a cgroup that will not empty); the exit status is what callers wait for.
        void onClose(exit).catch(() => {}).finally(() => resolve(exit));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(graceMs = 2000): Promise<SandboxExit> {
    const pid = this.child.pid;
    if (!this.done && pid) {
      terminate(pid);
      const gone = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!gone) forceKill(pid, this.cgroups);
    }
    return this.exited;
  }
}

export class BwrapRuntime implements SandboxRuntime {
  readonly kind = 'bwrap';
  private readonly state: StateDir;
  private bwrapPath?: string;
  private readonly live = new Map<string, BwrapHandle>();
  private readonly starting = new Set<string>();
  private availability?: Promise<Availability>;
  private plan?: LimitPlan;

  constructor(opts: { stateDir: string; bwrapPath?: string }) {
    this.state = new StateDir(opts.stateDir);
    this.bwrapPath = opts.bwrapPath;
  }

  /** How `spec.limits` are enforced on this machine (for `doctor`). */
  async limitsEnforced(): Promise<LimitsReport> {
    return this.limitPlan().report;
  }

  available(): Promise<Availability> {
    return (this.availability ??= probeBwrap(this.bwrap()));
  }

  /** Nothing to build: sandboxes run the host's own files. */
  async prepare(): Promise<void> {}

  private bwrap(): string | undefined {
    return (this.bwrapPath ??= findBwrap()); // looked up once: PATH is not searched on every sandbox start
  }

  private limitPlan(): LimitPlan {
    return (this.plan ??= planLimits());
  }

  async start(spec: SandboxSpec): Promise<BwrapHandle> {
    const args = bwrapArgs(withRlimits(this.limitPlan(), spec));
    for (const m of allMounts(spec))
      if (!fs.existsSync(m.host)) throw new Error(`sandbox "${spec.name}": mount source ${m.host} does not exist`);
    const bin = this.bwrap();
    if (!bin) throw new Error(BWRAP_MISSING);
    const arch = seccompArch();
    if (!arch) throw new Error(`sandbox "${spec.name}": no seccomp filter for ${process.arch}`);
    if (this.live.has(spec.name) || this.starting.has(spec.name)) throw new Error(`sandbox "${spec.name}" is already running`);
    this.starting.add(spec.name);
    try {
      return await this.spawnSandbox(spec, bin, args, seccompProgram(arch));
    } finally {
      this.starting.delete(spec.name);
    }
  }

  private async spawnSandbox(spec: SandboxSpec, bin: string, args: string[], filter: Buffer): Promise<BwrapHandle> {
    const old = this.state.read(spec.name);
    if (old && isOurBwrap(old.pid, old.startTime)) throw new Error(`sandbox "${spec.name}" is already running (pid ${old.pid})`);
    if (old) await this.removeRecord(old); // stale leftovers of a crash

    const cgroups = createCgroups(this.limitPlan(), spec.name, spec.limits);
    let child: ChildProcess;
    try {
      child = await spawnBwrap({ bin, args, user: spec.user, data: bwrapFdData(spec, filter), cgroups });
    } catch (e) {
      await removeCgroups(cgroups);
      throw new Error(`could not start sandbox "${spec.name}": ${(e as Error).message}`);
    }
    const pid = child.pid!;
    const record: StateRecord = { name: spec.name, labels: spec.labels, pid, startTime: startTime(pid), cgroups };
    this.state.write(record);
    let timer: NodeJS.Timeout | undefined;
    const handle = new BwrapHandle(spec.name, child, cgroups, async () => {
      clearTimeout(timer);
      this.live.delete(spec.name);
      await this.removeRecord(record);
    });
    this.live.set(spec.name, handle);
    if (spec.limits.wallClockMs !== undefined) timer = setTimeout(() => void handle.stop(), spec.limits.wallClockMs);
    return handle;
  }

  async stop(name: string, graceMs = 2000): Promise<void> {
    const h = this.live.get(name);
    if (h) {
      await h.stop(graceMs);
      return;
    }
    const rec = this.state.read(name);
    if (!rec) return;
    if (isOurBwrap(rec.pid, rec.startTime)) {
      terminate(rec.pid);
      for (let t = 0; t < graceMs && isOurBwrap(rec.pid, rec.startTime); t += 50) await sleep(50);
    }
    await this.removeRecord(rec);
  }

  async list(labels: Record<string, string>): Promise<SandboxInfo[]> {
    const out = new Map<string, SandboxInfo>();
    for (const [name, h] of this.live) {
      const rec = this.state.read(name);
      if (rec && labelsMatch(rec.labels, labels)) out.set(name, { name, labels: rec.labels, pid: h.pid });
    }
    for (const rec of this.state.all())
      if (!out.has(rec.name) && labelsMatch(rec.labels, labels) && isOurBwrap(rec.pid, rec.startTime))
        out.set(rec.name, { name: rec.name, labels: rec.labels, pid: rec.pid });
    return [...out.values()];
  }

  /**
   * Kill sandboxes of another (crashed) runtime instance whose labels match, and remove their state files and
   * cgroups. A real crash usually takes the sandboxes with it (--die-with-parent); then only files remain.
   */
  async cleanupOrphans(labels: Record<string, string>): Promise<number> {
    let n = 0;
    for (const rec of this.state.all()) {
      if (this.live.has(rec.name) || !labelsMatch(rec.labels, labels)) continue;
      await this.removeRecord(rec);
      n++;
    }
    return n;
  }

  /** Kill the record's sandbox if it still runs, wait for it, then remove its cgroups and state file. */
  private async removeRecord(rec: StateRecord): Promise<void> {
    if (isOurBwrap(rec.pid, rec.startTime)) {
      forceKill(rec.pid, rec.cgroups);
      for (let i = 0; i < 100 && isOurBwrap(rec.pid, rec.startTime); i++) await sleep(20);
    }
    await removeCgroups(rec.cgroups);
    this.state.remove(rec.name, rec.pid);
  }
}
