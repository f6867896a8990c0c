// The owner's answers to egress requests for hosts not on a group's list. Each request the owner is asked about is
// a row whose id is the number on its card ("allow 3"); ids never repeat, so a card from before a restart can never
// answer a later request. A row stays 'pending' only while a proxy holds the connection.
import type { DB } from './db.js';
import { stmt } from './statements.js';

export type ApprovalStatus = 'pending' | 'once' | 'chat' | 'deny' | 'expired';

export interface ApprovalRequest {
  groupId: number;
  folder: string;
  host: string;
  port: number;
  method: string;
  path?: string;
  reason?: string;
}

export interface ApprovalRow extends ApprovalRequest {
  id: number;
  askedAt: number;
  status: ApprovalStatus;
  decidedAt: number | null;
  decidedBy: string | null;
}

const COLUMNS = `id, group_id AS groupId, folder, host, port, method, path, reason, asked_at AS askedAt, status,
  decided_at AS decidedAt, decided_by AS decidedBy`;

const clean = (row: ApprovalRow | undefined): ApprovalRow | undefined =>
  row && { ...row, path: row.path ?? undefined, reason: row.reason ?? undefined };

export class ApprovalStore {
  constructor(private readonly db: DB) {}

  open(r: ApprovalRequest, at: number): number {
    const info = stmt(this.db, 'INSERT INTO egress_approvals (group_id, folder, host, port, method, path, reason, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.groupId, r.folder, r.host, r.port, r.method, r.path ?? null, r.reason ?? null, at);
    return Number(info.lastInsertRowid);
  }

  /** Record the decision of a pending request; false when it was no longer pending (answered, expired). */
  decide(id: number, status: Exclude<ApprovalStatus, 'pending'>, by: string, at: number): boolean {
    const info = stmt(this.db, "UPDATE egress_approvals SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'")
      .run(status, by, at, id);
    return info.changes === 1;
  }

  /** Every request still pending is refused: its connection died with the process that held it. */
  expireAll(by: string, at: number): number {
    return stmt(this.db, "UPDATE egress_approvals SET status = 'expired', decided_by = ?, decided_at = ? WHERE status = 'pending'").run(by, at).changes;
  }

  byId(id: number): ApprovalRow | undefined {
    return clean(stmt(this.db, `SELECT ${COLUMNS} FROM egress_approvals WHERE id = ?`).get(id) as ApprovalRow | undefined);
  }

  /** Newest first. */
  recent(limit: number): ApprovalRow[] {
    const rows = stmt(this.db, `SELECT ${COLUMNS} FROM egress_approvals ORDER BY id DESC LIMIT ?`).all(limit) as ApprovalRow[];
    return rows.map((r) => clean(r)!);
  }
}
