// Each group's current agent session, resumed by its next run.
import type { DB } from './db.js';
import { plucked, stmt } from './statements.js';

export function sessionOf(db: DB, groupId: number): string | undefined {
  return plucked(db, 'SELECT session_id FROM sessions WHERE group_id = ?').get(groupId) as string | undefined;
}

export function setSession(db: DB, groupId: number, sessionId: string): void {
  stmt(
    db,
    `INSERT INTO sessions (group_id, session_id, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(group_id) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
  ).run(groupId, sessionId, Date.now());
}

export function clearSession(db: DB, groupId: number): void {
  stmt(db, 'DELETE FROM sessions WHERE group_id = ?').run(groupId);
}
