import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { dataModes, secureDataDir } from '../fs/paths.js';
import { migrate } from './ledger.js';

export type DB = Database.Database;

/**
 * Open (creating if needed) the store and bring its schema up to date. The database sits at the top of the
 * data directory, which is secured with it (modes: `dataModes` in src/fs/paths.ts).
 */
export function openDatabase(file: string): DB {
  if (file !== ':memory:') createPrivately(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL'); // WAL + NORMAL is durable across process crashes
  // SQLite creates -wal and -shm with the database file's mode; ones left by an older Carapace are tightened.
  if (file !== ':memory:') for (const f of sidecars(file)) if (existsSync(f)) chmodSync(f, dataModes().database);
  try {
    migrate(db);
  } catch (err) {
    db.close(); // a refused or failed migration leaves no connection behind
    throw err;
  }
  return db;
}

/** Read an existing store without changing anything (not even file modes): for `carapace audit`. */
export function openDatabaseReadonly(file: string): DB {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The database file exists with our private mode before SQLite opens it. */
function createPrivately(file: string): void {
  secureDataDir(dirname(file));
  const mode = dataModes().database;
  closeSync(openSync(file, 'a', mode));
  chmodSync(file, mode);
}

/** The files SQLite keeps beside a WAL database. */
export const sidecars = (file: string) => [`${file}-wal`, `${file}-shm`];
