// The host side of bwrap processes: finding what runs inside a sandbox, stopping it, and keeping inherited fds
// out of it. Works from /proc, because the sandbox's processes live in their own pid namespace.
import fs from 'node:fs';
import path from 'node:path';

export const kill = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
};
export const killPids = (pids: number[], sig: NodeJS.Signals) => {
  for (const pid of pids) kill(pid, sig);
};
/** The pids listed in a cgroup's cgroup.procs (none once it is gone). */
export const readPids = (file: string) => {
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
export const startTime = (pid: number) => statFields(pid)?.[19];

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
export function leakedFdsToNull(lastUsed: number): ('ignore' | number)[] {
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
export function isOurBwrap(pid: number, started: string | undefined): boolean {
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
export function terminate(pid: number): void {
  const inside = descendants(pid);
  if (inside.length === 0) kill(pid, 'SIGTERM'); // still starting up
  killPids(inside, 'SIGTERM');
}
export function forceKill(pid: number, cgroups: string[]): void {
  const inside = descendants(pid);
  kill(-pid, 'SIGKILL'); // process group of the outer bwrap (spawned detached)
  killPids(inside, 'SIGKILL');
  for (const leaf of cgroups) killPids(readPids(path.join(leaf, 'cgroup.procs')), 'SIGKILL');
}