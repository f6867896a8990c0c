// The limits a run meets and what the chat is told about each: the group folder's disk quota and the host's
// free-disk reserve (watched here during the run), and the sandbox's memory and process caps (which the backend
// enforces and reports in the exit). A run stopped by one is not retried: the note says how to raise it.
import type { Logger } from 'pino';
import { folderBytes, freeBytes, mb } from '../fs/disk-use.js';

export interface DiskLimits {
  /** The group folder, as the host sees it. */
  folder: string;
  /** The group, as `carapace groups set` names it. */
  groupRef: string;
  quotaBytes: number;
  /** Where the store lives, and the free space kept there. */
  dataDir: string;
  reserveBytes: number;
}

/** Shortest pause between two measurements; a slow one (a huge tree) waits five times its own time. */
const CHECK_EVERY_MS = 2000;

const n = (x: number) => x.toLocaleString('en-US');

/** Why no run may start now (the host is below its reserve of free disk), or undefined when one may. */
export function reserveRefusal(dataDir: string, reserveBytes: number): string | undefined {
  const free = freeBytes(dataDir);
  if (free >= reserveBytes) return undefined;
  return (
    `The host is nearly out of disk space (${n(mb(free))} MB free; it keeps ${n(mb(reserveBytes))} MB for its own store), ` +
    'so I am not starting the agent. The owner can free space on the host (or lower CARAPACE_DISK_RESERVE_MB), then send the message again.'
  );
}

function quotaNote(used: number, limits: DiskLimits): string {
  return (
    `Stopped: this chat's folder reached its disk quota (${n(mb(used))} MB of ${n(mb(limits.quotaBytes))} MB). ` +
    `The owner can free space in ${limits.folder} or raise the quota: \`carapace groups set ${limits.groupRef} diskQuotaMb <MB>\`.`
  );
}

/**
 * Measure the group folder and the host's free space while a run lasts; `onLimit` is told once, with the note
 * for the chat, when either runs out. Never two measurements at once, never a tight loop. Returns a stop function.
 */
export function watchDisk(limits: DiskLimits, onLimit: (note: string) => void, log: Logger): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    const started = Date.now();
    const used = await folderBytes(limits.folder);
    if (stopped) return;
    let note = used !== undefined && used > limits.quotaBytes ? quotaNote(used, limits) : undefined;
    try {
      note ??= reserveRefusal(limits.dataDir, limits.reserveBytes)?.replace('so I am not starting the agent', 'so I stopped the agent');
    } catch (err) {
      log.warn({ err }, 'could not read the free disk space');
    }
    if (note) {
      stopped = true;
      onLimit(note);
      return;
    }
    timer = setTimeout(() => void check(), Math.max(CHECK_EVERY_MS, 5 * (Date.now() - started)));
    timer.unref();
  };
  void check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The note for a sandbox the backend saw hit its memory or process cap. */
export function sandboxLimitNote(limit: 'memory' | 'pids', groupRef: string): string {
  const raise = (what: string) => `The owner can raise it: \`carapace groups set ${groupRef} limits '${what}'\`.`;
  if (limit === 'memory') return `Stopped: the agent ran out of memory (its sandbox's memory limit). ${raise('{"memoryMb": 4096}')}`;
  return `Stopped: the agent hit its sandbox's limit on processes. ${raise('{"pids": 1024}')}`;
}
