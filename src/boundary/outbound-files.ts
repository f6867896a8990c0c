// send_file: the agent names a file in its group folder; the host copies it somewhere the agent cannot reach
// before queuing it, so what gets sent is exactly what was checked (no later swap for a symlink to a secret).
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeAtomic } from '../ipc/files.js';
import { GROUP_MOUNT, MAX_SEND_FILE_BYTES } from '../ipc/protocol.js';

export class FileRefused extends Error {}

const inside = (dir: string, path: string) => path.startsWith(dir + sep);

/** Resolve an agent's path (sandbox-absolute or relative to its folder) to a regular file inside `groupDir`. */
function openInGroup(groupDir: string, requested: string): { fd: number; real: string } {
  let rel = requested;
  if (isAbsolute(rel)) {
    if (!inside(GROUP_MOUNT, rel)) throw new FileRefused(`${requested} is outside your folder (${GROUP_MOUNT})`);
    rel = relative(GROUP_MOUNT, rel);
  }
  const root = realpathSync(groupDir);
  const candidate = resolve(root, rel);
  if (!inside(root, candidate)) throw new FileRefused(`${requested} is outside your folder`);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new FileRefused(`${requested} does not exist`);
  }
  if (!inside(root, real)) throw new FileRefused(`${requested} leads outside your folder`);
  const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    // What we opened, not what the path says now: a directory swapped in between cannot redirect us.
    const opened = process.platform === 'linux' ? readlinkSync(`/proc/self/fd/${fd}`) : real;
    if (!inside(root, opened)) throw new FileRefused(`${requested} leads outside your folder`);
    return { fd, real };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Copy the agent's file into `spoolDir`; returns the copy's path and the name the recipient sees. */
export function spoolGroupFile(groupDir: string, requested: string, spoolDir: string, id: string): { path: string; name: string } {
  const { fd, real } = openInGroup(groupDir, requested);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileRefused(`${requested} is not a regular file`);
    if (st.size > MAX_SEND_FILE_BYTES) throw new FileRefused(`${requested} is larger than ${MAX_SEND_FILE_BYTES / 1024 / 1024} MB`);
    const name = basename(real);
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
    const path = join(spoolDir, `${id}-${name.replace(/[^\w.-]+/g, '_')}`);
    writeAtomic(path, readFileSync(fd));
    return { path, name };
  } finally {
    closeSync(fd);
  }
}
