import { mkdirSync, readdirSync, renameSync, writeFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** Write via a dot-temp file and rename: readers see the whole file or nothing. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const tmp = join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, data, { flag: 'wx' }); // never through a link someone planted under that name
  renameSync(tmp, path);
}

export const writeJsonAtomic = (path: string, value: unknown) => writeAtomic(path, JSON.stringify(value));

/** Finished (non-temp) files in a directory, in name order. */
export function listReady(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && f.endsWith('.json'))
    .sort();
}

/**
 * Call `onChange` whenever files land in `dir`: inotify for speed, plus a slow rescan in case an event is
 * missed (network filesystems, overflowed queues). Returns a function that stops watching.
 */
export function watchDir(dir: string, onChange: () => void, rescanMs: number): () => void {
  mkdirSync(dir, { recursive: true });
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => onChange());
    watcher.on('error', () => undefined); // the rescan keeps us going
  } catch {
    // No inotify here: the rescan alone still delivers, just later.
  }
  const timer = setInterval(onChange, rescanMs);
  timer.unref();
  queueMicrotask(onChange); // files written before we started watching
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
