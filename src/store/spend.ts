// What the money side of budgets keeps: usage summed per model (prices are applied above the store), the
// install's total budgets, one-day extensions, the warnings already given, and the log of settings changes.
import type { DB } from './db.js';
import { stmt } from './statements.js';
import type { TokenUsage } from './usage.js';

/** Usage of one group on one model since some instant. */
export type ModelUsage = TokenUsage & { groupId: number; model: string | null; calls: number };

/** Usage since `sinceMs`, per group and model; one group's only when `groupId` is given. */
export function usageByModel(db: DB, sinceMs: number, groupId?: number): ModelUsage[] {
  const where = groupId === undefined ? 'at >= ?' : 'at >= ? AND group_id = ?';
  const args = groupId === undefined ? [sinceMs] : [sinceMs, groupId];
  return stmt(
    db,
    `SELECT group_id AS groupId, model, COUNT(*) AS calls, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
       SUM(cache_creation_input_tokens) AS cacheCreationInputTokens, SUM(cache_read_input_tokens) AS cacheReadInputTokens
     FROM model_usage WHERE ${where} GROUP BY group_id, model`,
  ).all(...args) as ModelUsage[];
}

export interface InstallBudget {
  dailyUsd: number | null;
  dailyTokens: number | null;
}

export function installBudget(db: DB): InstallBudget {
  const row = stmt(db, 'SELECT daily_usd AS dailyUsd, daily_tokens AS dailyTokens FROM install_budget WHERE id = 1').get() as InstallBudget | undefined;
  return row ?? { dailyUsd: null, dailyTokens: null };
}

export function setInstallBudget(db: DB, budget: InstallBudget): void {
  stmt(
    db,
    `INSERT INTO install_budget (id, daily_usd, daily_tokens) VALUES (1, ?, ?)
     ON CONFLICT(id) DO UPDATE SET daily_usd = excluded.daily_usd, daily_tokens = excluded.daily_tokens`,
  ).run(budget.dailyUsd, budget.dailyTokens);
}

export interface Extension {
  usd: number;
  tokens: number;
}

/** Extra budget for `day` ("YYYY-MM-DD" local); `groupId` null: the install's total. */
export function addExtension(db: DB, groupId: number | null, day: string, ext: Extension, at: number): void {
  stmt(db, 'INSERT INTO budget_extensions (group_id, day, usd, tokens, at) VALUES (?, ?, ?, ?, ?)').run(groupId, day, ext.usd, ext.tokens, at);
}

export function extensionOn(db: DB, groupId: number | null, day: string): Extension {
  return stmt(db, 'SELECT COALESCE(SUM(usd), 0) AS usd, COALESCE(SUM(tokens), 0) AS tokens FROM budget_extensions WHERE day = ? AND group_id IS ?')
    .get(day, groupId) as Extension;
}

/** True the first time a warning (scope, day, level) is asked for: it is given once. */
export function firstAlert(db: DB, scope: string, day: string, level: number): boolean {
  return stmt(db, 'INSERT OR IGNORE INTO spend_alerts (scope, day, level) VALUES (?, ?, ?)').run(scope, day, level).changes === 1;
}

/** Forget warnings of (scope, day) at or above `level`: an extension makes them worth giving again. */
export function rearmAlerts(db: DB, scope: string, day: string, level: number): void {
  stmt(db, 'DELETE FROM spend_alerts WHERE scope = ? AND day = ? AND level >= ?').run(scope, day, level);
}

export interface GroupChange {
  at: number;
  groupId: number;
  folder: string;
  /** Who made it: "chat:<folder>" or "cli". */
  actor: string;
  change: Record<string, unknown>;
}

export function logGroupChange(db: DB, c: GroupChange): void {
  stmt(db, 'INSERT INTO group_changes (at, group_id, folder, actor, change) VALUES (?, ?, ?, ?, ?)').run(c.at, c.groupId, c.folder, c.actor, JSON.stringify(c.change));
}

export function groupChanges(db: DB, groupId: number, limit: number): GroupChange[] {
  const rows = stmt(db, 'SELECT at, group_id AS groupId, folder, actor, change FROM group_changes WHERE group_id = ? ORDER BY id DESC LIMIT ?')
    .all(groupId, limit) as (Omit<GroupChange, 'change'> & { change: string })[];
  return rows.map((r) => ({ ...r, change: JSON.parse(r.change) }));
}
