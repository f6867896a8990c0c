// Starting the bwrap process: as the sandbox user, with the data it reads on numbered fds, and (with cgroup limits)
// held at a gate until it is inside its cgroups.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { DATA_FD } from './bwrap-args.js';
import { kill, leakedFdsToNull } from './bwrap-process.js';

/** Write `data` to the child's fds `firstFd`, `firstFd + 1`, … and close them, so bwrap reads each to its end. */
export function feedFds(child: ChildProcess, firstFd: number, data: (string | Buffer)[]): void {
  // resume(): drain our read side too, or the child's 'close' would wait on these sockets forever.
  // Errors are expected: a sandbox killed before bwrap read its data resets the socket.
  data.forEach((d, i) => (child.stdio[firstFd + i] as Duplex).on('error', () => {}).resume().end(d));
}

export function spawned(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
}

export interface BwrapLaunch {
  bin: string;
  args: string[];
  user: { uid: number; gid: number };
  /** Read by bwrap from fds DATA_FD.. (see bwrapFdData). */
  data: (string | Buffer)[];
  /** cgroup leaf dirs to put the process into before it may run anything; may be empty. */
  cgroups: string[];
}

/**
 * Start bwrap and hand it its data. With cgroups, a shell waits on a gate fd until we have put it into the
 * cgroups, then execs bwrap: nothing can fork before it is inside, and the writes happen as root while the
 * process already runs as the sandbox uid. On failure the process is killed and the error thrown.
 */
export async function spawnBwrap({ bin, args, user, data, cgroups }: BwrapLaunch): Promise<ChildProcess> {
  const gateFd = DATA_FD + data.length;
  const gated = cgroups.length > 0;
  const [file, argv] = gated
    ? ['/bin/sh', ['-c', `read -r _ <&${gateFd} || exit 125; exec ${gateFd}<&-; exec "$@"`, 'carapace-gate', bin, ...args]]
    : [bin, args];
  const child = spawn(file, argv, {
    // As root, drop to the sandbox uid before bwrap runs; otherwise uid 1000 inside would map to host root.
    ...(process.getuid?.() === 0 ? { uid: user.uid, gid: user.gid } : {}),
    cwd: '/', // the host cwd may not be accessible to the sandbox uid
    env: { PATH: '/usr/bin:/bin' },
    detached: true, // own process group, for the forced kill
    stdio: ['ignore', 'pipe', 'pipe', ...data.map(() => 'pipe' as const), ...(gated ? ['pipe' as const] : []), ...leakedFdsToNull(gated ? gateFd : gateFd - 1)],
  });
  try {
    await spawned(child);
    feedFds(child, DATA_FD, data);
    for (const leaf of cgroups) fs.writeFileSync(path.join(leaf, 'cgroup.procs'), String(child.pid));
    if (gated) feedFds(child, gateFd, ['go\n']);
    return child;
  } catch (e) {
    if (child.pid) kill(child.pid, 'SIGKILL');
    throw e;
  }
}
