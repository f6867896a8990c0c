// Model usage per call, as the proxy metered it: what budgets and `carapace status` count.
import type { DB } from './db.js';
import { stmt } from './statements.js';

/** Tokens of one model call, as the API reported them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/** Summed usage plus the number of calls. */
export interface UsageTotals extends TokenUsage {
  calls: number;
}

export type UsageRecord = TokenUsage & { groupId: number; runId: string; model?: string; at?: number };

/** Everything a budget counts: cached input is still input. */
export const totalTokens = (u: TokenUsage) =>
  u.inputTokens + u.outputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens;

export function recordUsage(db: DB, u: UsageRecord): void {
  stmt(
    db,
    `INSERT INTO model_usage (group_id, run_id, at, model, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(u.groupId, u.runId, u.at ?? Date.now(), u.model ?? null, u.inputTokens, u.outputTokens, u.cacheCreationInputTokens, u.cacheReadInputTokens);
}

/** A group's usage since `sinceMs` (e.g. the start of its day). */
export function groupUsageSince(db: DB, groupId: number, sinceMs: number): UsageTotals {
  return sumUsage(db, 'group_id = ? AND at >= ?', groupId, sinceMs);
}

/** Tokens (all kinds) per group per time bucket since `sinceMs`; `start` is the bucket's first millisecond. */
export interface UsageBucket {
  groupId: number;
  start: number;
  tokens: number;
  calls: number;
}

export function usageBuckets(db: DB, sinceMs: number, bucketMs: number): UsageBucket[] {
  return stmt(
    db,
    `SELECT group_id AS groupId, CAST(at / ? AS INTEGER) * ? AS start, COUNT(*) AS calls,
       SUM(input_tokens + output_tokens + cache_creation_input_tokens + cache_read_input_tokens) AS tokens
     FROM model_usage WHERE at >= ? GROUP BY group_id, CAST(at / ? AS INTEGER) ORDER BY start`,
  ).all(bucketMs, bucketMs, sinceMs, bucketMs) as UsageBucket[];
}

export function runUsage(db: DB, runId: string): UsageTotals {
  return sumUsage(db, 'run_id = ?', runId);
}

function sumUsage(db: DB, where: string, ...args: unknown[]): UsageTotals {
  return stmt(
    db,
    `SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS inputTokens, COALESCE(SUM(output_tokens), 0) AS outputTokens,
       COALESCE(SUM(cache_creation_input_tokens), 0) AS cacheCreationInputTokens,
       COALESCE(SUM(cache_read_input_tokens), 0) AS cacheReadInputTokens
     FROM model_usage WHERE ${where}`,
  ).get(...args) as UsageTotals;
}
