// send_file: the agent names a file in its group folder; the host copies it somewhere the agent cannot reach
// before queuing it, so what gets sent is exactly what was checked (no later swap for a symlink to a secret).
import { mkdirSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { isBelow } from '../fs/contain.js';
import { AgentTree, UnsafePathError } from '../fs/safe-write.js';
import { writeAtomic } from '../ipc/files.js';
import { GROUP_MOUNT, MAX_SEND_FILE_BYTES } from '../ipc/protocol.js';

export class FileRefused extends Error {}

/** The agent's path (sandbox-absolute or relative to its folder) as a path relative to the folder. */
function folderRelative(requested: string): string {
  const full = posix.resolve(GROUP_MOUNT, requested);
  if (!isBelow(full, GROUP_MOUNT)) throw new FileRefused(`${requested} is outside your folder (${GROUP_MOUNT})`);
  return posix.relative(GROUP_MOUNT, full);
}

/** Copy the agent's file into `spoolDir`; returns the copy's path and the name the recipient sees. */
export function spoolGroupFile(groupDir: string, requested: string, spoolDir: string, id: string): { path: string; name: string } {
  const rel = folderRelative(requested);
  let data: Buffer;
  try {
    // No link is followed anywhere on the way, not even one that stays inside the folder.
    data = new AgentTree(groupDir).read(rel, MAX_SEND_FILE_BYTES);
  } catch (err) {
    if (!(err instanceof UnsafePathError)) throw err;
    if (err.kind === 'too-large') throw new FileRefused(`${requested} is larger than ${MAX_SEND_FILE_BYTES / 1024 / 1024} MB`);
    throw new FileRefused(err.path === rel ? `${requested} ${err.problem}` : `${requested}: ${err.message}`);
  }
  const name = basename(rel);
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const path = join(spoolDir, `${id}-${name.replace(/[^\w.-]+/g, '_')}`);
  writeAtomic(path, data);
  return { path, name };
}
