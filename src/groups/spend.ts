// Spend in money and tokens, per group and in total, for a day or a month: the metered usage priced per model.
import { localDay, nextStartOfDay, startOfDay, startOfMonth } from '../time.js';
import { totalTokens, type ModelUsage, type Store } from '../store/store.js';
import { readContainerConfig } from './group-config.js';
import { costOf } from './prices.js';

export interface Amount {
  usd: number;
  tokens: number;
}
/** A daily budget; a side left out is unlimited. */
export interface Limits {
  usd?: number;
  tokens?: number;
}

export const ZERO: Amount = { usd: 0, tokens: 0 };
export const plus = (a: Amount, b: Amount): Amount => ({ usd: a.usd + b.usd, tokens: a.tokens + b.tokens });
const priced = (u: ModelUsage): Amount => ({ usd: costOf(u, u.model), tokens: totalTokens(u) });

/** What each group spent since `sinceMs` (groups that spent nothing are absent). */
export function spendPerGroup(store: Store, sinceMs: number): Map<number, Amount> {
  const out = new Map<number, Amount>();
  for (const row of store.usageByModel(sinceMs)) out.set(row.groupId, plus(out.get(row.groupId) ?? ZERO, priced(row)));
  return out;
}

/** What one group (or, without one, every group together) spent since `sinceMs`. */
export function spendSince(store: Store, sinceMs: number, groupId?: number): Amount {
  return store.usageByModel(sinceMs, groupId).map(priced).reduce(plus, ZERO);
}

/** Which budget: a group's (by id) or the install's total over every group. */
export type Scope = number | 'total';
export const scopeKey = (scope: Scope) => (scope === 'total' ? 'total' : `group:${scope}`);

/** Today's limits of a scope: the configured daily budget plus today's extensions. */
export function limitsToday(store: Store, scope: Scope, day: string): Limits {
  let base: Limits;
  if (scope === 'total') {
    const b = store.installBudget();
    base = { usd: b.dailyUsd ?? undefined, tokens: b.dailyTokens ?? undefined };
  } else {
    const group = store.groupById(scope);
    const config = group ? readContainerConfig(group.containerConfig).config : {};
    base = { usd: config.dailySpendUsd, tokens: config.dailyTokenBudget };
  }
  const ext = store.extensionOn(scope === 'total' ? null : scope, day);
  return {
    usd: base.usd === undefined ? undefined : base.usd + ext.usd,
    tokens: base.tokens === undefined ? undefined : base.tokens + ext.tokens,
  };
}

export interface DayWindow {
  day: string;
  start: number;
  /** When the next day's budget begins. */
  resetsAt: number;
}

export function today(now: number, timeZone: string): DayWindow {
  return { day: localDay(now, timeZone), start: startOfDay(now, timeZone), resetsAt: nextStartOfDay(now, timeZone) };
}

/** Today's and this month's spend of every group, and their totals: what `status` and "show spend" report. */
export function spendReport(store: Store, timeZone: string, now = Date.now()) {
  const day = today(now, timeZone);
  const daily = spendPerGroup(store, day.start);
  const monthly = spendPerGroup(store, startOfMonth(now, timeZone));
  const sum = (m: Map<number, Amount>) => [...m.values()].reduce(plus, ZERO);
  const groups = store.listGroups().map((g) => ({
    folder: g.folder,
    name: g.name,
    today: daily.get(g.id) ?? ZERO,
    month: monthly.get(g.id) ?? ZERO,
    limits: limitsToday(store, g.id, day.day),
  }));
  return { day: day.day, groups, total: { today: sum(daily), month: sum(monthly), limits: limitsToday(store, 'total', day.day) } };
}
export type SpendReport = ReturnType<typeof spendReport>;
