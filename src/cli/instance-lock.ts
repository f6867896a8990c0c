// One Carapace per data directory: `carapace start` holds an exclusive SQLite lock on `instance.lock` for as long
// as it runs. SQLite locks are the kernel's file locks, so they end with the process that held them: a start after
// a crash or `kill -9` takes over at once, and no pid or timestamp decides who owns the data. A pid file beside
// it only names the holder in the message a second start shows.
import { rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { dataPaths, secureDataDir } from '../fs/paths.js';
import { readPid } from '../fs/pid-file.js';
import { CliError, EXIT } from './exit.js';

export interface InstanceLock {
  release(): void;
}

function alreadyRunning(dataDir: string, pid: number | undefined): CliError {
  return new CliError(
    `Carapace is already running for ${dataDir}${pid ? ` (pid ${pid})` : ''}; stop it first or use another data dir (CARAPACE_DATA_DIR).`,
    EXIT.alreadyRunning,
  );
}

/**
 * Take the data directory's lock, or throw (exit code 4) while another live Carapace holds it. The lock file is
 * never deleted: unlinking it could let two starters lock two different files of the same name.
 */
export function lockDataDir(dataDir: string): InstanceLock {
  const paths = dataPaths(dataDir);
  secureDataDir(dataDir); // private from the first moment: the lock is the first thing start creates
  const db = new Database(paths.instanceLock, { timeout: 0 });
  try {
    // In exclusive locking mode the first write transaction's lock is kept until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw alreadyRunning(dataDir, readPid(paths.instancePid));
    throw err;
  }
  writeFileSync(paths.instancePid, `${process.pid}\n`, { mode: 0o600 });
  return {
    release() {
      rmSync(paths.instanceInfo, { force: true });
      rmSync(paths.instancePid, { force: true });
      db.close();
    },
  };
}

/**
 * Run `fn` holding the data directory's lock, so no run is live while it changes what runs use; while Carapace
 * runs, refuse with `whatInstead` ("Carapace is running: <whatInstead>, or stop it first.").
 */
export function whileStopped<T>(dataDir: string, whatInstead: string, fn: () => T): T {
  let lock;
  try {
    lock = lockDataDir(dataDir);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.alreadyRunning) throw new CliError(`Carapace is running: ${whatInstead}, or stop it first.`);
    throw err;
  }
  try {
    return fn();
  } finally {
    lock.release();
  }
}
