// Warnings about spend: once a day per budget, at 80 % and at 100 % of it, for a group's own budget and the
// install's total. Which were given is kept in the store, so a restart never repeats one.
import type { Store } from '../store/store.js';
import { formatUsd } from './prices.js';
import { limitsToday, scopeKey, spendSince, today, type Amount, type Limits, type Scope } from './spend.js';

export const LEVELS = [80, 100] as const;

export interface SpendAlert {
  scope: Scope;
  level: (typeof LEVELS)[number];
  /** What the owner reads in the main chat. */
  text: string;
}

/** The share of each limited side of a budget that `used` takes, the highest first. */
function shares(limits: Limits, used: Amount): { share: number; what: string }[] {
  const out: { share: number; what: string }[] = [];
  if (limits.usd !== undefined) out.push({ share: used.usd / limits.usd, what: `${formatUsd(used.usd)} of ${formatUsd(limits.usd)}` });
  if (limits.tokens !== undefined) {
    out.push({ share: used.tokens / limits.tokens, what: `${used.tokens.toLocaleString('en-US')} of ${limits.tokens.toLocaleString('en-US')} tokens` });
  }
  return out.sort((a, b) => b.share - a.share);
}

/** The highest level `share` reaches (0: none). */
const levelOf = (share: number) => [...LEVELS].reverse().find((l) => share >= l / 100) ?? 0;

/** Warnings due now for a group's budget and the total, each returned once (the store remembers it). */
export function dueAlerts(store: Store, groupId: number, timeZone: string, now = Date.now()): SpendAlert[] {
  const day = today(now, timeZone);
  const alerts: SpendAlert[] = [];
  for (const scope of [groupId, 'total'] as const) {
    const [top] = shares(limitsToday(store, scope, day.day), spendSince(store, day.start, scope === 'total' ? undefined : scope));
    if (!top) continue;
    const reached = levelOf(top.share);
    // Both levels crossed in one call: the 100 % warning says it all.
    const level = LEVELS.find((l) => l === reached && store.firstAlert(scopeKey(scope), day.day, l));
    if (reached === 100) store.firstAlert(scopeKey(scope), day.day, 80);
    if (level) alerts.push({ scope, level, text: alertText(store, scope, level, top.what) });
  }
  return alerts;
}

function alertText(store: Store, scope: Scope, level: number, what: string): string {
  const whose = scope === 'total' ? 'All chats together have' : `"${store.groupById(scope)?.name ?? scope}" has`;
  if (level === 100) {
    return `⛔ ${whose} used today's whole budget (${what}): no more model calls today. Say "extend today by $2" (or more) to let it go on.`;
  }
  return `⚠️ ${whose} passed ${level} % of today's budget (${what}).`;
}

/**
 * After an extension, warnings the new limit is no longer past may be given again; the ones still reached
 * stay given.
 */
export function rearm(store: Store, scope: Scope, timeZone: string, now = Date.now()): void {
  const day = today(now, timeZone);
  const [top] = shares(limitsToday(store, scope, day.day), spendSince(store, day.start, scope === 'total' ? undefined : scope));
  const reached = top ? levelOf(top.share) : 0;
  const next = LEVELS.find((l) => l > reached);
  if (next !== undefined) store.rearmAlerts(scopeKey(scope), day.day, next);
}
