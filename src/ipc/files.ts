import { mkdirSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AgentTree } from '../fs/safe-write.js';

/**
 * Write via a dot-temp file and rename: readers see the whole file or nothing. The directory is a run's in/ or
 * out/, which the other side can write: the temp file is created O_EXCL|O_NOFOLLOW and renamed within the open
 * directory, and a directory planted under the name is refused (UnsafePathError), never written through.
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  new AgentTree(dirname(path)).write(basename(path), data);
}

export const writeJsonAtomic = (path: string, value: unknown) => writeAtomic(path, JSON.stringify(value));

/** A finished message file's name: not a writer's dot-temp file. */
const isReady = (name: string) => !name.startsWith('.') && name.endsWith('.json');

/** Finished (non-temp) files in a directory, in name order. Only names: each is opened safely by its reader. */
export function listReady(dir: string): string[] {
  return readdirSync(dir).filter(isReady).sort();
}

/**
 * Call `onChange` whenever files land in `dir`: inotify for speed, plus a slow rescan in case an event is
 * missed (network filesystems, overflowed queues). What `onChange` throws goes to `onError`, never up into the
 * watcher or timer, where it would end the process. `onChange` returns true when it stopped early with work left.
 * Returns a function that stops watching.
 */
export function watchDir(dir: string, onChange: () => void | boolean, rescanMs: number, onError: (err: unknown) => void): () => void {
  mkdirSync(dir, { recursive: true });
  // A burst of events (an agent creating a thousand files, our own moves out of `dir`) is one scan, not one
  // scan per event: each scan lists the whole directory.
  const changed = () => {
    try {
      if (onChange() === true) soon(); // stopped early with work left: the rest on the next turn of the loop
    } catch (err) {
      onError(err);
    }
  };
  let scheduled: NodeJS.Immediate | undefined;
  const soon = () => {
    scheduled ??= setImmediate(() => {
      scheduled = undefined;
      changed();
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    // A writer's temp file is no work yet, and scanning while it is written only contends with the writer for the
    // directory (its rename waits for our readdir): the scan waits for the event of the finished name.
    watcher = watch(dir, (_event, name) => {
      if (name === null || isReady(String(name))) soon();
    });
    watcher.on('error', () => undefined); // the rescan keeps us going
  } catch {
    // No inotify here: the rescan alone still delivers, just later.
  }
  const timer = setInterval(changed, rescanMs);
  timer.unref();
  queueMicrotask(changed); // files written before we started watching
  return () => {
    clearInterval(timer);
    clearImmediate(scheduled);
    watcher?.close();
  };
}
