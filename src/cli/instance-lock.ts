// One Carapace per data directory: `carapace start` holds a proper-lockfile lock on it for as long as it runs.
// The lock is a directory whose mtime the holder refreshes; one not refreshed for STALE_MS is stale (its holder
// was killed) and is taken over. A pid file beside it names the holder for the message a second start shows.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { dataPaths } from '../fs/paths.js';
import { CliError, EXIT } from './exit.js';

/** How long an unrefreshed lock is honoured: longer than any stall of the event loop, short enough to wait out. */
export const STALE_MS = 10_000;
const RETRY_MS = 500;

export interface InstanceLock {
  release(): Promise<void>;
}

function holderPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, but not ours to signal
  }
}

function alreadyRunning(dataDir: string, pid: number | undefined): CliError {
  return new CliError(
    `Carapace is already running for ${dataDir}${pid ? ` (pid ${pid})` : ''}; stop it first or use another data dir (CARAPACE_DATA_DIR).`,
    EXIT.alreadyRunning,
  );
}

/**
 * Take the data directory's lock, or throw (exit code 4) when a live Carapace holds it. A lock left by a killed
 * process is waited out until stale (at most STALE_MS) and taken over; `onWait` says so. `onLost` is called if
 * the lock could not be kept fresh (the event loop stalled for longer than STALE_MS) and another took it.
 */
export async function lockDataDir(
  dataDir: string,
  opts: { onWait?: (line: string) => void; onLost: (err: Error) => void },
): Promise<InstanceLock> {
  const paths = dataPaths(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const options = { lockfilePath: paths.instanceLock, realpath: false, stale: STALE_MS, onCompromised: opts.onLost };
  const retrying = { ...options, retries: { retries: Math.ceil(STALE_MS / RETRY_MS) + 4, factor: 1, minTimeout: RETRY_MS, maxTimeout: RETRY_MS } };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    const holder = holderPid(paths.instancePid);
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw alreadyRunning(dataDir, holder);
    opts.onWait?.(`A Carapace${holder ? ` (pid ${holder})` : ''} ended without releasing ${dataDir}; taking over its lock…`);
    release = await lockfile.lock(dataDir, retrying).catch((again: NodeJS.ErrnoException) => {
      throw again.code === 'ELOCKED' ? alreadyRunning(dataDir, holderPid(paths.instancePid)) : again;
    });
  }
  writeFileSync(paths.instancePid, `${process.pid}\n`, { mode: 0o600 });
  return {
    async release() {
      rmSync(paths.instancePid, { force: true });
      await release();
    },
  };
}
