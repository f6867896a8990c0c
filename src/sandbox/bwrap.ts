// bubblewrap backend: Linux namespaces, the host's /usr read-only, nothing else from the host but the spec's mounts.
// Probe results behind these choices: /work/shared/design/research/runtimes.md (§4.4, §6).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex, PassThrough } from 'node:stream';
import {
  APP_MOUNT,
  type Availability,
  type LimitsReport,
  type Mount,
  type ResourceLimits,
  type SandboxExit,
  type SandboxHandle,
  type SandboxInfo,
  type SandboxRuntime,
  type SandboxSpec,
} from './runtime.js';
import { checkSpec, etcFiles, labelsMatch, mergeOutput, SANDBOX_HOME, sleep } from './spec.js';

/** What the host root looks like, so the sandbox gets the same /bin, /lib64, … shape. */
export interface HostLayout {
  /** Top-level dirs that exist on the host: symlink target (merged /usr), or null for a real directory. */
  topLevel: Record<string, string | null>;
  /** Install prefix of node when it lives outside /usr (nvm, tarball in /opt); bound read-only at the same path. */
  nodePrefix?: string;
}

let layoutCache: HostLayout | undefined;
export function hostLayout(): HostLayout {
  if (layoutCache) return layoutCache;
  const topLevel: Record<string, string | null> = {};
  for (const d of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      topLevel[d] = fs.lstatSync(d).isSymbolicLink() ? fs.readlinkSync(d) : null;
    } catch {
      /* absent on this host */
    }
  }
  const real = fs.realpathSync(process.execPath);
  const nodePrefix = real.startsWith('/usr/') ? undefined : path.dirname(path.dirname(real));
  return (layoutCache = { topLevel, nodePrefix });
}

// Host /etc entries a normal program needs (TLS roots, name service config, tool alternatives, time zone).
// Everything else in /etc (shadow, ssh keys, resolv.conf, the host's passwd) stays out.
const ETC_BINDS = [
  '/etc/ssl/certs', '/etc/ssl/openssl.cnf', '/etc/ca-certificates', '/etc/pki', '/etc/nsswitch.conf',
  '/etc/alternatives', '/etc/localtime', '/etc/timezone', '/etc/ld.so.cache',
];
/** First fd used for generated /etc files (stdin/stdout/stderr are 0–2); the cgroup gate fd follows them. */
const DATA_FD = 3;
/** The parts of the runner's package visible at APP_MOUNT: never the whole project (it holds .env and data), and
 * of dist/ only the compiled sources (not tests or benchmarks). */
const APP_PARTS = ['dist/src', 'node_modules', 'package.json'];

/** Generated /etc files, passed to bwrap through fds DATA_FD, DATA_FD+1, … in this order. */
export function bwrapEtcFiles(spec: SandboxSpec): [string, string][] {
  return [...etcFiles(spec.user), ['/etc/hosts', '127.0.0.1 localhost sandbox\n::1 localhost\n']];
}

/** The spec's mounts plus the runner's package parts from `appDir`. */
function allMounts(spec: SandboxSpec): Mount[] {
  const app = spec.appDir;
  return [...spec.mounts, ...(app ? APP_PARTS.map((p) => ({ host: path.join(app, p), sandbox: `${APP_MOUNT}/${p}`, readonly: true })) : [])];
}

/**
 * The bwrap argv (without the binary) for a spec. Pure apart from `hostLayout()` (pass `layout` in tests).
 * Generated /etc files are read from fds DATA_FD.. (see `bwrapEtcFiles`); the caller must provide them.
 */
export function bwrapArgs(spec: SandboxSpec, layout: HostLayout = hostLayout()): string[] {
  checkSpec(spec);
  const a = [
    // All namespaces; user ns is mandatory (not "try"), and the sandbox may not create nested ones.
    '--unshare-all', '--unshare-user', '--disable-userns',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    '--uid', String(spec.user.uid), '--gid', String(spec.user.gid), '--hostname', 'sandbox',
    '--clearenv',
  ];
  for (const [k, v] of Object.entries(spec.env)) a.push('--setenv', k, v);
  a.push('--ro-bind', '/usr', '/usr');
  for (const [dir, target] of Object.entries(layout.topLevel)) {
    if (target === null) a.push('--ro-bind', dir, dir);
    else a.push('--symlink', target, dir);
  }
  if (layout.nodePrefix) a.push('--ro-bind', layout.nodePrefix, layout.nodePrefix);
  a.push('--perms', '0755', '--dir', '/etc');
  for (const f of ETC_BINDS) a.push('--ro-bind-try', f, f);
  bwrapEtcFiles(spec).forEach(([file], i) => a.push('--perms', '0644', '--ro-bind-data', String(DATA_FD + i), file));
  a.push('--proc', '/proc', '--dev', '/dev', '--perms', '01777', '--tmpfs', '/tmp', '--tmpfs', SANDBOX_HOME);
  // Parents before children, or a later parent mount would hide an earlier nested one.
  const depth = (p: string) => p.split('/').length;
  for (const m of allMounts(spec).sort((x, y) => depth(x.sandbox) - depth(y.sandbox)))
    a.push(m.readonly ? '--ro-bind' : '--bind', m.host, m.sandbox);
  // Last: every mount point now exists in the tmpfs root, so it can become read-only.
  a.push('--chdir', spec.workdir, '--remount-ro', '/', '--', ...spec.command);
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// Resource limits

type Controller = 'memory' | 'pids' | 'cpu';
interface LimitPlan {
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

function planLimits(): LimitPlan {
  const cgroup: Partial<Record<Controller, string>> = {};
  let cgroupVersion: 1 | 2 | undefined;
  if (process.getuid?.() === 0) {
    if (fs.existsSync(`${CGROOT}/cgroup.controllers`)) {
      // Pure v2: our own subtree under the root, which the no-internal-processes rule allows.
      const enabled = fs.readFileSync(`${CGROOT}/cgroup.subtree_control`, 'utf8').split(/\s+/);
      if (writable(CGROOT)) for (const c of ['memory', 'pids', 'cpu'] as const) if (enabled.includes(c)) cgroup[c] = `${CGROOT}/carapace`;
      if (Object.keys(cgroup).length) cgroupVersion = 2;
    } else {
      // v1 / hybrid: nest under our own cgroup per controller, so sandboxes stay inside the limits we run under.
      const own = new Map<string, string>();
      for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
        const [, ctrls, p] = line.split(/:(.*?):/);
        for (const c of ctrls.split(',')) own.set(c, p);
      }
      for (const c of ['memory', 'pids', 'cpu'] as const) {
        const dir = path.join(CGROOT, c, own.get(c) ?? '/');
        if (fs.existsSync(path.join(dir, 'tasks')) && writable(dir)) cgroup[c] = path.join(dir, 'carapace');
      }
      if (Object.keys(cgroup).length) cgroupVersion = 1;
    }
  }
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

/** Create the per-sandbox cgroups and write the limits. Returns the leaf dirs (a process joins each). */
function createCgroups(plan: LimitPlan, name: string, limits: ResourceLimits): string[] {
  const want: [Controller, boolean][] = [
    ['memory', limits.memoryMb !== undefined],
    ['pids', limits.pids !== undefined],
    ['cpu', limits.cpus !== undefined],
  ];
  const ctrls = want.filter(([c, w]) => w && plan.cgroup[c]).map(([c]) => c);
  const leaves = [...new Set(ctrls.map((c) => path.join(plan.cgroup[c]!, name)))];
  const write = (dir: string, file: string, value: string | number, optional = false) => {
    try {
      fs.writeFileSync(path.join(dir, file), String(value));
    } catch (e) {
      if (!optional) throw e;
    }
  };
  try {
    for (const leaf of leaves) {
      for (let i = 0; ; i++) {
        try {
          fs.mkdirSync(path.dirname(leaf), { recursive: true });
          if (plan.cgroupVersion === 2)
            write(path.dirname(leaf), 'cgroup.subtree_control', ctrls.map((c) => '+' + c).join(' '));
          fs.mkdirSync(leaf); // not recursive: EEXIST means a live or stale sandbox of that name
          break;
        } catch (e) {
          // ENOENT: another sandbox's exit removed the empty parent in between; try again.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || i === 2) throw e;
        }
      }
    }
    const bytes = (limits.memoryMb ?? 0) * 1024 * 1024;
    const period = 100_000;
    const quota = Math.max(1000, Math.round((limits.cpus ?? 1) * period));
    // [file, value, optional]: swap caps are optional (absent without swap accounting).
    const files: Record<Controller, [string, string | number, boolean?][]> =
      plan.cgroupVersion === 1
        ? {
            memory: [['memory.limit_in_bytes', bytes], ['memory.memsw.limit_in_bytes', bytes, true]],
            pids: [['pids.max', limits.pids ?? 'max']],
            cpu: [['cpu.cfs_period_us', period], ['cpu.cfs_quota_us', quota]],
          }
        : {
            memory: [['memory.max', bytes], ['memory.swap.max', 0, true]],
            pids: [['pids.max', limits.pids ?? 'max']],
            cpu: [['cpu.max', `${quota} ${period}`]],
          };
    for (const c of ctrls) for (const [file, value, optional] of files[c]) write(path.join(plan.cgroup[c]!, name), file, value, optional);
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

/** Kill whatever is left in the cgroups, then remove them (and their parent once empty). */
async function removeCgroups(leaves: string[]): Promise<void> {
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
      for (const pid of readPids(path.join(leaf, 'cgroup.procs'))) kill(pid, 'SIGKILL');
      await sleep(20); // pid namespace teardown after SIGKILL is asynchronous
    }
    try {
      fs.rmdirSync(path.dirname(leaf)); // fails (EBUSY) while other sandboxes use it; that is fine
    } catch {
      /* in use */
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes

const kill = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
};
const readPids = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
/** Process start time (clock ticks since boot); with the pid it identifies a process across pid reuse. */
const startTime = (pid: number) => statFields(pid)?.[19];

/** All descendants of `pid` (this kernel may lack /proc/<pid>/task/<tid>/children, so scan /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(Number(e));
    if (!f || f[0] === 'Z') continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const kids = children.get(queue.shift()!) ?? [];
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

/**
 * Fds this process inherited without close-on-exec (from a supervisor or shell) would be inherited by bwrap
 * and by the sandboxed command: a hole to the host. Node cannot set FD_CLOEXEC, so they are overridden with
 * /dev/null in the child's stdio table. Returns the stdio entries for fds (lastUsed, max leaked].
 */
let devNull: number | undefined;
function leakedFdsToNull(lastUsed: number): ('ignore' | number)[] {
  const leaked: number[] = [];
  for (const e of fs.readdirSync('/proc/self/fdinfo')) {
    const fd = Number(e);
    if (fd <= lastUsed) continue;
    try {
      const flags = /flags:\s*([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags && (parseInt(flags, 8) & 0o2000000) === 0) leaked.push(fd); // O_CLOEXEC not set
    } catch {
      /* closed meanwhile (the fd of the readdir itself) */
    }
  }
  if (leaked.length === 0) return [];
  devNull ??= fs.openSync('/dev/null', 'r+'); // opened with O_CLOEXEC by libuv, only the dup2 copies reach the child
  return Array.from({ length: Math.max(...leaked) - lastUsed }, (_, i) => (leaked.includes(lastUsed + 1 + i) ? devNull! : 'ignore'));
}

/** Is `pid` still the bwrap we started (not a recycled pid)? The gate shell has bwrap in its argv too. */
function isOurBwrap(pid: number, started: string | undefined): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => path.basename(a) === 'bwrap') && (started === undefined || startTime(pid) === started);
  } catch {
    return false;
  }
}

/**
 * Polite stop: SIGTERM every process inside the sandbox. The outer bwrap is skipped on purpose: killing it
 * would SIGKILL everything through --die-with-parent. bwrap's pid 1 ignores SIGTERM (namespace init without a
 * handler), so only the command and its children see it; when the command exits, bwrap exits with its status.
 */
function terminate(pid: number): void {
  const inside = descendants(pid);
  if (inside.length === 0) kill(pid, 'SIGTERM'); // still starting up
  for (const p of inside) kill(p, 'SIGTERM');
}
function forceKill(pid: number, cgroups: string[]): void {
  const inside = descendants(pid);
  kill(-pid, 'SIGKILL'); // process group of the outer bwrap (spawned detached)
  for (const p of inside) kill(p, 'SIGKILL');
  for (const leaf of cgroups) for (const p of readPids(path.join(leaf, 'cgroup.procs'))) kill(p, 'SIGKILL');
}

// ---------------------------------------------------------------------------------------------------------
// Runtime

interface StateRecord {
  name: string;
  labels: Record<string, string>;
  pid: number;
  startTime?: string;
  cgroups: string[];
}

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
        const exit = { code, signal };
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
  private readonly stateDir: string;
  private readonly bwrapPath?: string;
  private readonly live = new Map<string, BwrapHandle>();
  private readonly starting = new Set<string>();
  private availability?: Promise<Availability>;
  private plan?: LimitPlan;

  constructor(opts: { stateDir: string; bwrapPath?: string }) {
    this.stateDir = opts.stateDir;
    this.bwrapPath = opts.bwrapPath;
  }

  /** How `spec.limits` are enforced on this machine (for `doctor`). */
  async limitsEnforced(): Promise<LimitsReport> {
    return (this.plan ??= planLimits()).report;
  }

  available(): Promise<Availability> {
    return (this.availability ??= this.probe());
  }

  /** Nothing to build: sandboxes run the host's own files. */
  async prepare(): Promise<void> {}

  private bwrap(): string | undefined {
    if (this.bwrapPath) return this.bwrapPath;
    const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/usr/local/bin'];
    for (const d of dirs) {
      try {
        fs.accessSync(path.join(d, 'bwrap'), fs.constants.X_OK);
        return path.join(d, 'bwrap');
      } catch {
        /* next */
      }
    }
    return undefined;
  }

  private async probe(): Promise<Availability> {
    const bin = this.bwrap();
    if (!bin)
      return {
        ok: false,
        reason: 'bubblewrap (bwrap) is not installed: run `apt-get install bubblewrap` (Fedora: `dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)',
      };
    const layout = hostLayout();
    const args = ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--ro-bind', '/usr', '/usr'];
    for (const [dir, target] of Object.entries(layout.topLevel))
      args.push(...(target === null ? ['--ro-bind', dir, dir] : ['--symlink', target, dir]));
    args.push('--proc', '/proc', '--dev', '/dev', '--', 'true');
    // As root, probe as an unprivileged uid: that is how sandboxes run, and what needs user namespaces.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(bin, args, { ...asUser, cwd: '/', env: {}, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d));
      p.on('error', (e) => resolve({ code: null, err: e.message }));
      p.on('close', (code) => resolve({ code, err }));
    });
    if (result.code === 0) return { ok: true };
    return { ok: false, reason: `bwrap cannot create a sandbox here (${result.err.trim() || `exit ${result.code}`}). ${userNsHint()}` };
  }

  async start(spec: SandboxSpec): Promise<BwrapHandle> {
    const args = bwrapArgs(this.withRlimits(spec));
    for (const m of allMounts(spec))
      if (!fs.existsSync(m.host)) throw new Error(`sandbox "${spec.name}": mount source ${m.host} does not exist`);
    const bin = this.bwrap();
    if (!bin) throw new Error('bubblewrap (bwrap) is not installed: run `apt-get install bubblewrap`');
    if (this.live.has(spec.name) || this.starting.has(spec.name)) throw new Error(`sandbox "${spec.name}" is already running`);
    this.starting.add(spec.name);
    try {
      return await this.spawnSandbox(spec, bin, args);
    } finally {
      this.starting.delete(spec.name);
    }
  }

  private async spawnSandbox(spec: SandboxSpec, bin: string, args: string[]): Promise<BwrapHandle> {
    fs.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const old = this.readState(spec.name);
    if (old && isOurBwrap(old.pid, old.startTime)) throw new Error(`sandbox "${spec.name}" is already running (pid ${old.pid})`);
    if (old) await this.removeRecord(old); // stale leftovers of a crash

    const plan = (this.plan ??= planLimits());
    const cgroups = createCgroups(plan, spec.name, spec.limits);
    const files = bwrapEtcFiles(spec);
    const gateFd = DATA_FD + files.length;
    // With cgroups, a shell waits on the gate fd until we have put it into the cgroups, then execs bwrap:
    // nothing can fork before it is inside, and the writes happen as root while the process already runs as uid.
    const argv = cgroups.length
      ? ['/bin/sh', ['-c', `read -r _ <&${gateFd} || exit 125; exec ${gateFd}<&-; exec "$@"`, 'carapace-gate', bin, ...args]] as const
      : [bin, args] as const;
    const asRoot = process.getuid?.() === 0;
    const child = spawn(argv[0], argv[1], {
      // As root, drop to the sandbox uid before bwrap runs; otherwise uid 1000 inside would map to host root.
      ...(asRoot ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
      cwd: '/', // the host cwd may not be accessible to the sandbox uid
      env: { PATH: '/usr/bin:/bin' },
      detached: true, // own process group, for the forced kill
      stdio: [
        'ignore', 'pipe', 'pipe', ...files.map(() => 'pipe' as const), ...(cgroups.length ? ['pipe' as const] : []),
        ...leakedFdsToNull(cgroups.length ? gateFd : gateFd - 1),
      ],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      // resume(): drain our read side too, or the child's 'close' would wait on these sockets forever.
      // Errors are expected: a sandbox killed before bwrap read its data resets the socket.
      const feed = (fd: number, data: string) => (child.stdio[fd] as Duplex).on('error', () => {}).resume().end(data);
      files.forEach(([, content], i) => feed(DATA_FD + i, content));
      for (const leaf of cgroups) fs.writeFileSync(path.join(leaf, 'cgroup.procs'), String(child.pid));
      if (cgroups.length) feed(gateFd, 'go\n');
    } catch (e) {
      if (child.pid) kill(child.pid, 'SIGKILL');
      await removeCgroups(cgroups);
      throw new Error(`could not start sandbox "${spec.name}": ${(e as Error).message}`);
    }

    const pid = child.pid!;
    const record: StateRecord = { name: spec.name, labels: spec.labels, pid, startTime: startTime(pid), cgroups };
    this.writeState(record);
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

  /** Without cgroups, wrap the command in prlimit inside the sandbox (see planLimits). */
  private withRlimits(spec: SandboxSpec): SandboxSpec {
    const { rlimit } = (this.plan ??= planLimits());
    const { memoryMb, pids } = spec.limits;
    const opts = [
      ...(rlimit.memory && memoryMb !== undefined ? [`--data=${memoryMb * 1024 * 1024}`] : []),
      ...(rlimit.pids && pids !== undefined ? [`--nproc=${pids}`] : []),
    ];
    return opts.length ? { ...spec, command: [PRLIMIT, ...opts, '--', ...spec.command] } : spec;
  }

  async stop(name: string, graceMs = 2000): Promise<void> {
    const h = this.live.get(name);
    if (h) {
      await h.stop(graceMs);
      return;
    }
    const rec = this.readState(name);
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
      const rec = this.readState(name);
      if (rec && labelsMatch(rec.labels, labels)) out.set(name, { name, labels: rec.labels, pid: h.pid });
    }
    for (const rec of this.records())
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
    for (const rec of this.records()) {
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
    // Only delete the file if it still describes this sandbox (a new one with the same name may have started).
    if (this.readState(rec.name)?.pid === rec.pid) fs.rmSync(this.statePath(rec.name), { force: true });
  }

  private statePath(name: string): string {
    return path.join(this.stateDir, `${name}.json`);
  }
  private writeState(rec: StateRecord): void {
    const tmp = `${this.statePath(rec.name)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rec));
    fs.renameSync(tmp, this.statePath(rec.name)); // atomic: readers never see half a file
  }
  private readState(name: string): StateRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.statePath(name), 'utf8')) as StateRecord;
    } catch {
      return undefined;
    }
  }
  private records(): StateRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.stateDir);
    } catch {
      return [];
    }
    return names
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.readState(f.slice(0, -'.json'.length)))
      .filter((r): r is StateRecord => !!r);
  }
}

/** Name the kernel setting that blocks unprivileged user namespaces, if one does. */
function userNsHint(): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0')
    return 'Unprivileged user namespaces are disabled: `sysctl -w kernel.unprivileged_userns_clone=1`.';
  if (read('/proc/sys/user/max_user_namespaces') === '0')
    return 'User namespaces are disabled: `sysctl -w user.max_user_namespaces=15000`.';
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1')
    return 'AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): add an AppArmor profile for bwrap, or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`.';
  return 'Unprivileged user namespaces may be blocked (check kernel.unprivileged_userns_clone, user.max_user_namespaces, kernel.apparmor_restrict_unprivileged_userns), or this runs inside a container that forbids them.';
}
