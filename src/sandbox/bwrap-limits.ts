// Resource limits for bubblewrap sandboxes: per-sandbox cgroups when we run as root with a writable cgroup fs,
// otherwise rlimits set by prlimit inside the sandbox.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killPids, readPids } from './bwrap-process.js';
import type { LimitsReport, ResourceLimits, SandboxSpec } from './runtime.js';
import { sleep } from './spec.js';

type Controller = 'memory' | 'pids' | 'cpu';
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export interface LimitPlan {
  cgroupVersion?: 1 | 2;
  /** Parent cgroup dir (".../carapace") per controller we can write. */
  cgroup: Partial<Record<Controller, string>>;
  /** prlimit inside the sandbox for what cgroups cannot do. */
  rlimit: { memory: boolean; pids: boolean };
  report: LimitsReport;
}

const CGROOT = '/sys/fs/cgroup';
const PRLIMIT = '/usr/bin/prlimit';
const writable = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.W_OK); // EROFS when cgroupfs is mounted read-only (containers)
    return true;
  } catch {
    return false;
  }
};

/** Pure v2: our own subtree under the root, which the no-internal-processes rule allows. */
function cgroupV2Parents(): Partial<Record<Controller, string>> {
  const cgroup: Partial<Record<Controller, string>> = {};
  const enabled = fs.readFileSync(`${CGROOT}/cgroup.subtree_control`, 'utf8').split(/\s+/);
  if (writable(CGROOT)) for (const c of CONTROLLERS) if (enabled.includes(c)) cgroup[c] = `${CGROOT}/carapace`;
  return cgroup;
}

/** v1 / hybrid: nest under our own cgroup per controller, so sandboxes stay inside the limits we run under. */
function cgroupV1Parents(): Partial<Record<Controller, string>> {
  const cgroup: Partial<Record<Controller, string>> = {};
  const own = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, ctrls, p] = line.split(/:(.*?):/);
    for (const c of ctrls.split(',')) own.set(c, p);
  }
  for (const c of CONTROLLERS) {
    const dir = path.join(CGROOT, c, own.get(c) ?? '/');
    if (fs.existsSync(path.join(dir, 'tasks')) && writable(dir)) cgroup[c] = path.join(dir, 'carapace');
  }
  return cgroup;
}

function planCgroups(): Pick<LimitPlan, 'cgroup' | 'cgroupVersion'> {
  if (process.getuid?.() !== 0) return { cgroup: {} };
  const v2 = fs.existsSync(`${CGROOT}/cgroup.controllers`);
  const cgroup = v2 ? cgroupV2Parents() : cgroupV1Parents();
  return { cgroup, cgroupVersion: Object.keys(cgroup).length ? (v2 ? 2 : 1) : undefined };
}

export function planLimits(): LimitPlan {
  const { cgroup, cgroupVersion } = planCgroups();
  // Fallback without cgroups: prlimit run *inside* the sandbox, after bwrap created the user namespace.
  // - RLIMIT_NPROC is counted per (user namespace, uid) since Linux 5.14, so inside the sandbox's own user ns it
  //   caps the sandbox's tasks (threads included, like pids.max). Set outside, it would count every host process
  //   of that uid (the whole desktop session when not root). Older kernels: not applied.
  // - RLIMIT_DATA (private writable memory) is a per-process memory cap; node starts fine under it and fails
  //   allocations cleanly. RLIMIT_AS is not used: V8 and wasm reserve far more address space than they use.
  // - No rate cap for CPU exists among rlimits (RLIMIT_CPU is total seconds), so cpus is not enforced.
  const hasPrlimit = fs.existsSync(PRLIMIT);
  const [maj, min] = os.release().split('.').map((n) => parseInt(n, 10));
  const rlimit = { memory: hasPrlimit && !cgroup.memory, pids: hasPrlimit && !cgroup.pids && (maj > 5 || (maj === 5 && min >= 14)) };
  const mechs = [cgroupVersion && `cgroup-v${cgroupVersion}`, (rlimit.memory || rlimit.pids) && 'rlimit'].filter(Boolean);
  const report: LimitsReport = {
    memory: !!cgroup.memory || rlimit.memory,
    pids: !!cgroup.pids || rlimit.pids,
    cpu: !!cgroup.cpu,
    mechanism: mechs.join('+') || 'none',
  };
  if (rlimit.memory) report.note = 'memory is capped per process (RLIMIT_DATA), not per sandbox';
  if (!cgroupVersion) report.note = [report.note, 'cgroup limits need root and a writable cgroup fs'].filter(Boolean).join('; ');
  return { cgroupVersion, cgroup, rlimit, report };
}

/** Without cgroups, wrap the command in prlimit inside the sandbox (see planLimits). */
export function withRlimits(plan: LimitPlan, spec: SandboxSpec): SandboxSpec {
  const { memoryMb, pids } = spec.limits;
  const opts = [
    ...(plan.rlimit.memory && memoryMb !== undefined ? [`--data=${memoryMb * 1024 * 1024}`] : []),
    ...(plan.rlimit.pids && pids !== undefined ? [`--nproc=${pids}`] : []),
  ];
  return opts.length ? { ...spec, command: [PRLIMIT, ...opts, '--', ...spec.command] } : spec;
}

/** The limit files to write per controller: [file, value, optional]; swap caps are optional (absent without
 * swap accounting). */
function limitFiles(version: 1 | 2, limits: ResourceLimits): Record<Controller, [string, string | number, boolean?][]> {
  const bytes = (limits.memoryMb ?? 0) * 1024 * 1024;
  const period = 100_000;
  const quota = Math.max(1000, Math.round((limits.cpus ?? 1) * period));
  const pids: [string, string | number][] = [['pids.max', limits.pids ?? 'max']];
  return version === 1
    ? {
        memory: [['memory.limit_in_bytes', bytes], ['memory.memsw.limit_in_bytes', bytes, true]],
        pids,
        cpu: [['cpu.cfs_period_us', period], ['cpu.cfs_quota_us', quota]],
      }
    : { memory: [['memory.max', bytes], ['memory.swap.max', 0, true]], pids, cpu: [['cpu.max', `${quota} ${period}`]] };
}

function writeCgroupFile(dir: string, file: string, value: string | number, optional = false): void {
  try {
    fs.writeFileSync(path.join(dir, file), String(value));
  } catch (e) {
    if (!optional) throw e;
  }
}

/** Make one leaf cgroup; its parent is created (and on v2 given the controllers) first. */
function makeLeaf(plan: LimitPlan, leaf: string, ctrls: Controller[]): void {
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(path.dirname(leaf), { recursive: true });
      if (plan.cgroupVersion === 2) writeCgroupFile(path.dirname(leaf), 'cgroup.subtree_control', ctrls.map((c) => '+' + c).join(' '));
      fs.mkdirSync(leaf); // not recursive: EEXIST means a live or stale sandbox of that name
      return;
    } catch (e) {
      // ENOENT: another sandbox's exit removed the empty parent in between; try again.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || i === 2) throw e;
    }
  }
}

/** Create the per-sandbox cgroups and write the limits. Returns the leaf dirs (a process joins each). */
export function createCgroups(plan: LimitPlan, name: string, limits: ResourceLimits): string[] {
  const want: [Controller, boolean][] = [
    ['memory', limits.memoryMb !== undefined],
    ['pids', limits.pids !== undefined],
    ['cpu', limits.cpus !== undefined],
  ];
  const ctrls = want.filter(([c, w]) => w && plan.cgroup[c]).map(([c]) => c);
  const leaves = [...new Set(ctrls.map((c) => path.join(plan.cgroup[c]!, name)))];
  try {
    for (const leaf of leaves) makeLeaf(plan, leaf, ctrls);
    const files = limitFiles(plan.cgroupVersion ?? 2, limits);
    for (const c of ctrls) for (const [file, value, optional] of files[c]) writeCgroupFile(path.join(plan.cgroup[c]!, name), file, value, optional);
    return leaves;
  } catch (e) {
    for (const leaf of leaves) {
      try {
        fs.rmdirSync(leaf); // still empty: nothing has joined yet
      } catch {
        /* not created */
      }
    }
    throw new Error(`could not set up cgroup limits for sandbox "${name}": ${(e as Error).message}`);
  }
}

/** A counter from a cgroup events file ("oom_kill 1", "max 3"); 0 when the file or the line is missing. */
function eventCount(file: string, key: string): number {
  try {
    const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) || 0 : 0;
  } catch {
    return 0;
  }
}

/** Which limit a sandbox's cgroups saw it hit, read before they are removed: the OOM killer first. */
export function limitHit(leaves: string[]): 'memory' | 'pids' | undefined {
  // v2 keeps every counter in memory.events / pids.events; v1 has oom_kill in memory.oom_control.
  if (leaves.some((l) => eventCount(path.join(l, 'memory.events'), 'oom_kill') + eventCount(path.join(l, 'memory.oom_control'), 'oom_kill') > 0)) return 'memory';
  if (leaves.some((l) => eventCount(path.join(l, 'pids.events'), 'max') > 0)) return 'pids';
  return undefined;
}

/** Kill whatever is left in the cgroups, then remove them (and their parent once empty). */
export async function removeCgroups(leaves: string[]): Promise<void> {
  for (const leaf of leaves) {
    for (let i = 0; i < 100; i++) {
      try {
        fs.rmdirSync(leaf);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i === 99) throw e;
      }
      killPids(readPids(path.join(leaf, 'cgroup.procs')), 'SIGKILL');
      await sleep(20); // pid namespace teardown after SIGKILL is asynchronous
    }
    try {
      fs.rmdirSync(path.dirname(leaf)); // fails (EBUSY) while other sandboxes use it; that is fine
    } catch {
      /* in use */
    }
  }
}
