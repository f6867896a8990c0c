// Prepared statements, each prepared once per database connection and reused: preparing costs more than most of
// the store's queries (it was the biggest share of the host's work per chat message).
import type { Statement } from 'better-sqlite3';
import type { DB } from './db.js';

const prepared = new WeakMap<DB, Map<string, Statement>>();

function cached(db: DB, key: string, make: () => Statement): Statement {
  let statements = prepared.get(db);
  if (!statements) prepared.set(db, (statements = new Map()));
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = make()));
  return statement;
}

/**
 * The statement for `sql` on `db`, returning whole rows. Every caller with the same SQL shares it, so its mode
 * is never changed (no `.pluck()`, `.raw()`…: `plucked` is the one-column form) and the SQL is fixed text, not
 * built per call (each distinct text stays cached as long as the connection).
 */
export const stmt = (db: DB, sql: string): Statement => cached(db, sql, () => db.prepare(sql));

/** Like `stmt`, for a query whose first column is the whole answer (`SELECT COUNT(*) …`). */
export const plucked = (db: DB, sql: string): Statement => cached(db, `pluck\0${sql}`, () => db.prepare(sql).pluck());
