// Pid files: who holds a lock, and whether that process still lives.
import { readFileSync } from 'node:fs';

/** Whether a process with this pid exists (one of another user's counts: it cannot be signalled, but it lives). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a pid file, or undefined when there is none or it holds something else. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
