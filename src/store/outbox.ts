// Replies waiting for delivery. A run's output is queued once per (run, seq), so a replay after a crash never
// sends twice; once sent, the reply joins the chat's history.
import type { DB } from './db.js';
import { stmt } from './statements.js';
import { advanceCursor } from './groups.js';
import { markFirstOutput } from './runs.js';

export interface OutboxRow {
  id: number;
  runId: string;
  seq: number;
  chatId: string;
  /** The message, or a file's caption. */
  text: string;
  /** A team member's role; absent for the assistant itself. */
  sender: string | null;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  /** A file to send (host-private copy) and the name the recipient sees. */
  filePath: string | null;
  fileName: string | null;
  createdAt: number;
}

export interface RunOutput {
  runId: string;
  seq: number;
  chatId: string;
  text: string;
  groupId: number;
  answered?: number;
  sender?: string;
  file?: { path: string; name: string };
}

/** Queue a run's output and mark the messages it answers, atomically; false when (run, seq) was queued before. */
export function queueOutput(db: DB, o: RunOutput): boolean {
  return db.transaction(() => {
    const info = stmt(
      db,
      `INSERT OR IGNORE INTO outbox (run_id, seq, chat_id, text, sender, file_path, file_name, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(o.runId, o.seq, o.chatId, o.text, o.sender ?? null, o.file?.path ?? null, o.file?.name ?? null, Date.now());
    if (o.answered !== undefined) advanceCursor(db, o.groupId, o.answered);
    markFirstOutput(db, o.runId);
    return info.changes === 1;
  })();
}

/** Whether a run's output `seq` is already queued (or sent): replaying it must not redo its side effects. */
export function hasOutput(db: DB, runId: string, seq: number): boolean {
  return stmt(db, 'SELECT 1 FROM outbox WHERE run_id = ? AND seq = ?').get(runId, seq) !== undefined;
}

export function pendingOutbox(db: DB): OutboxRow[] {
  return stmt(
    db,
    `SELECT id, run_id AS runId, seq, chat_id AS chatId, text, sender, status, attempts, file_path AS filePath,
       file_name AS fileName, created_at AS createdAt
     FROM outbox WHERE status = 'pending' ORDER BY id`,
  ).all() as OutboxRow[];
}

/** Delivered: remember the platform id and keep the reply in the chat's history. */
export function markSent(db: DB, outboxId: number, platformMessageId: string): void {
  db.transaction(() => {
    const row = stmt(db, 'SELECT chat_id AS chatId, text, sender, file_name AS fileName FROM outbox WHERE id = ?').get(outboxId) as
      | { chatId: string; text: string; sender: string | null; fileName: string | null }
      | undefined;
    if (!row) return;
    const text = row.fileName ? `[file: ${row.fileName}]${row.text ? ` ${row.text}` : ''}` : row.text;
    const now = Date.now();
    stmt(db, `UPDATE outbox SET status = 'sent', platform_message_id = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?`).run(
      platformMessageId,
      now,
      outboxId,
    );
    stmt(
      db,
      `INSERT OR IGNORE INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant)
       VALUES (?, ?, 'assistant', ?, ?, ?, 1)`,
    ).run(row.chatId, platformMessageId, row.sender ?? 'assistant', text, now);
  })();
}

export function markDeliveryFailed(db: DB, outboxId: number, error: string, final: boolean): void {
  stmt(db, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = ? WHERE id = ?`).run(
    error,
    final ? 'failed' : 'pending',
    outboxId,
  );
}
