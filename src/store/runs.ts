// Agent runs: which messages (or task occurrences) each one carries, and how it ended.
import type { DB } from './db.js';
import { plucked, stmt } from './statements.js';
import { attachTaskRun } from './tasks.js';

export interface RunRow {
  id: string;
  groupId: number;
  status: 'running' | 'succeeded' | 'failed' | 'abandoned';
  attempt: number;
  fromMessage: number;
  toMessage: number;
  sandbox: string | null;
  startedAt: number;
  firstOutputAt: number | null;
  endedAt: number | null;
  error: string | null;
  /** A task run in a fresh session: its session id is not the group's. */
  isolated: boolean;
}

export interface NewRun {
  id: string;
  groupId: number;
  attempt: number;
  fromMessage: number;
  toMessage: number;
  sandbox: string;
  isolated?: boolean;
  taskRun?: number;
}

const runCols = `id, group_id AS groupId, status, attempt, from_message AS fromMessage, to_message AS toMessage,
  sandbox, started_at AS startedAt, first_output_at AS firstOutputAt, ended_at AS endedAt, error, isolated`;
const toRun = (row: any): RunRow => ({ ...row, isolated: !!row.isolated });

/**
 * Claim messages (fromMessage, toMessage] for a new run; they are its input 0. A run started for a task
 * occurrence (`taskRun`) carries that occurrence as input 0 instead, and claims no messages.
 */
export function startRun(db: DB, r: NewRun): void {
  db.transaction(() => {
    stmt(
      db,
      `INSERT INTO runs (id, group_id, status, attempt, from_message, to_message, sandbox, started_at, isolated)
       VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.groupId, r.attempt, r.fromMessage, r.toMessage, r.sandbox, Date.now(), r.isolated ? 1 : 0);
    recordInput(db, r.id, 0, r.toMessage);
    if (r.taskRun !== undefined) attachTaskRun(db, r.taskRun, r.id, 0);
  })();
}

/** Record what input `seq` of a run carried; a piped follow-up also extends the run's claim. */
export function recordInput(db: DB, runId: string, seq: number, toMessage: number): void {
  db.transaction(() => {
    stmt(db, 'INSERT OR REPLACE INTO run_inputs (run_id, seq, to_message) VALUES (?, ?, ?)').run(runId, seq, toMessage);
    stmt(db, 'UPDATE runs SET to_message = MAX(to_message, ?) WHERE id = ?').run(toMessage, runId);
  })();
}

/** The highest message id carried by inputs up to `seq`. */
export function inputMessage(db: DB, runId: string, seq: number): number | undefined {
  const m = plucked(db, 'SELECT MAX(to_message) FROM run_inputs WHERE run_id = ? AND seq <= ?').get(runId, seq);
  return (m as number | null) ?? undefined;
}

export function endRun(db: DB, runId: string, status: 'succeeded' | 'failed' | 'abandoned', error?: string): void {
  stmt(db, `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running'`).run(
    status,
    error ?? null,
    Date.now(),
    runId,
  );
}

/** The run has produced output (the first time counts). */
export function markFirstOutput(db: DB, runId: string): void {
  stmt(db, 'UPDATE runs SET first_output_at = COALESCE(first_output_at, ?) WHERE id = ?').run(Date.now(), runId);
}

export function runById(db: DB, id: string): RunRow | undefined {
  const row = stmt(db, `SELECT ${runCols} FROM runs WHERE id = ?`).get(id);
  return row ? toRun(row) : undefined;
}

export function runningRuns(db: DB): RunRow[] {
  return stmt(db, `SELECT ${runCols} FROM runs WHERE status = 'running'`).all().map(toRun);
}

export function recentRuns(db: DB, limit: number): RunRow[] {
  return stmt(db, `SELECT ${runCols} FROM runs ORDER BY started_at DESC LIMIT ?`).all(limit).map(toRun);
}
