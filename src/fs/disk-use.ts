// How much disk a folder takes and how much the host has left. An agent-writable folder is measured by `du`
// in a child process: it never follows links, counts blocks really allocated (a sparse file is not a full one),
// and a tree of a million files costs that child its time, never the orchestrator's event loop.
import { execFile, execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';

const DU_ARGS = ['-skx']; // POSIX: one total, in KiB, this filesystem only, links not followed

/** The total du printed, in bytes; du may also complain about entries it could not read (it still totals). */
function parseDu(stdout: string): number | undefined {
  const kib = Number(/^(\d+)/.exec(stdout.trim().split('\n').pop() ?? '')?.[1]);
  return Number.isFinite(kib) ? kib * 1024 : undefined;
}

/** Bytes `dir` takes on disk; undefined when it does not exist or could not be measured within `timeoutMs`. */
export function folderBytes(dir: string, timeoutMs = 30_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('du', [...DU_ARGS, dir], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (_err, stdout) =>
      resolve(parseDu(String(stdout ?? ''))),
    );
  });
}

/** The same, blocking: for the CLI (`carapace status`), never for the orchestrator. */
export function folderBytesSync(dir: string, timeoutMs = 30_000): number | undefined {
  try {
    return parseDu(execFileSync('du', [...DU_ARGS, dir], { timeout: timeoutMs, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout; // du exits 1 after an unreadable entry, with the total printed
    return out ? parseDu(out.toString()) : undefined;
  }
}

/** Bytes an unprivileged writer can still use on the filesystem holding `path`. */
export function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

export const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
