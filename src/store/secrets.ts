// The vault's rows: each secret's routing (host, header, format, env) in the clear and its value sealed, plus
// which groups were granted it. Sealing and opening happen in boundary/secret-vault.ts; this file never sees a key.
import type { DB } from './db.js';
import { stmt } from './statements.js';

export interface SecretRoute {
  name: string;
  host: string;
  header: string;
  format: string;
  env: string;
}
export interface SealedSecret extends SecretRoute {
  sealed: Buffer;
  createdAt: number;
}

const COLUMNS = 'name, host, header, format, env, sealed, created_at AS createdAt';

export function putSecret(db: DB, s: SealedSecret): void {
  stmt(
    db,
    `INSERT INTO secrets (name, host, header, format, env, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET host = excluded.host, header = excluded.header, format = excluded.format,
       env = excluded.env, sealed = excluded.sealed, created_at = excluded.created_at`,
  ).run(s.name, s.host, s.header, s.format, s.env, s.sealed, s.createdAt);
}

export const listSecretRows = (db: DB): SealedSecret[] => stmt(db, `SELECT ${COLUMNS} FROM secrets ORDER BY name`).all() as SealedSecret[];

export const secretRow = (db: DB, name: string): SealedSecret | undefined =>
  stmt(db, `SELECT ${COLUMNS} FROM secrets WHERE name = ?`).get(name) as SealedSecret | undefined;

/** Removes the secret and every grant of it; false if there was none. */
export const deleteSecret = (db: DB, name: string): boolean => stmt(db, 'DELETE FROM secrets WHERE name = ?').run(name).changes > 0;

export function grantSecret(db: DB, groupId: number, name: string): void {
  stmt(db, 'INSERT OR IGNORE INTO secret_grants (group_id, secret) VALUES (?, ?)').run(groupId, name);
}

export const revokeSecret = (db: DB, groupId: number, name: string): boolean =>
  stmt(db, 'DELETE FROM secret_grants WHERE group_id = ? AND secret = ?').run(groupId, name).changes > 0;

export const grantedRows = (db: DB, groupId: number): SealedSecret[] =>
  stmt(db, `SELECT s.name, s.host, s.header, s.format, s.env, s.sealed, s.created_at AS createdAt FROM secrets s JOIN secret_grants g ON g.secret = s.name WHERE g.group_id = ? ORDER BY s.name`)
    .all(groupId) as SealedSecret[];

/** Folders of the groups granted each secret. */
export const grantsBySecret = (db: DB): { secret: string; folder: string }[] =>
  stmt(db, 'SELECT g.secret, gr.folder FROM secret_grants g JOIN groups gr ON gr.id = g.group_id ORDER BY g.secret, gr.folder').all() as {
    secret: string;
    folder: string;
  }[];
