// Spend from chat: show_spend (main sees every group, others their own), extend_budget ("extend today by $2")
// and set_total_budget, main only. Budgets are enforced by the model proxy's reservations (groups/budget.ts).
import { z } from 'zod';
import { formatUsd } from '../groups/prices.js';
import { extensionSchema, parseOrExplain, SettingsError, totalBudgetSchema } from '../groups/settings-schema.js';
import { rearm } from '../groups/spend-alerts.js';
import { limitsToday, spendReport, today, type Limits, type Scope } from '../groups/spend.js';
import type { Store } from '../store/store.js';
import { findGroup } from './group-ops.js';
import { explained, op, OpError, type Op } from './op.js';

/** Add to today's budget of a scope; refused when that side of its budget is unlimited anyway. */
export function extendToday(store: Store, scope: Scope, input: unknown, actor: string, timeZone: string, now = Date.now()): Limits {
  const ext = parseOrExplain(extensionSchema, input, 'extension');
  const day = today(now, timeZone);
  const limits = limitsToday(store, scope, day.day);
  const whose = scope === 'total' ? 'The total' : `"${store.groupById(scope)?.folder}"`;
  if (ext.usd !== undefined && limits.usd === undefined) throw new SettingsError(`${whose} has no daily money budget to extend (dailySpendUsd).`);
  if (ext.tokens !== undefined && limits.tokens === undefined) throw new SettingsError(`${whose} has no daily token budget to extend (dailyTokenBudget).`);
  store.db.transaction(() => {
    store.addExtension(scope === 'total' ? null : scope, day.day, { usd: ext.usd ?? 0, tokens: ext.tokens ?? 0 }, now);
    const folder = scope === 'total' ? '(total)' : store.groupById(scope)!.folder;
    store.logGroupChange({ at: now, groupId: scope === 'total' ? 0 : scope, folder, actor, change: { extendedToday: ext } });
  })();
  rearm(store, scope, timeZone, now);
  return limitsToday(store, scope, day.day);
}

const describeLimits = (l: Limits) =>
  [l.usd === undefined ? undefined : formatUsd(l.usd), l.tokens === undefined ? undefined : `${l.tokens.toLocaleString('en-US')} tokens`].filter(Boolean).join(' and ');

export const spendOps: Record<string, Op<unknown>> = {
  show_spend: op({
    mainOnly: false,
    args: z.strictObject({}),
    run: (ctx) => {
      const report = spendReport(ctx.store, ctx.host.tasks.timeZone, ctx.host.tasks.now());
      if (ctx.group.isMain) return report;
      return { day: report.day, groups: report.groups.filter((g) => g.folder === ctx.group.folder) };
    },
  }),

  extend_budget: op({
    mainOnly: true,
    args: z.looseObject({ group: z.string().min(1).max(200) }),
    run: (ctx, { group, ...amount }) => {
      let scope: Scope = 'total';
      if (group !== 'total') {
        const target = findGroup(ctx.store, group);
        if (!target) throw new OpError(`No registered group "${group}": use a folder or chat id from list_groups, or "total".`);
        scope = target.id;
      }
      const { timeZone, now } = ctx.host.tasks;
      const limits = explained(() => extendToday(ctx.store, scope, amount, `chat:${ctx.group.folder}`, timeZone, now()));
      return `Today's budget of ${group === 'total' ? 'all chats together' : `"${group}"`} is now ${describeLimits(limits)}; it returns to normal tomorrow.`;
    },
  }),

  set_total_budget: op({
    mainOnly: true,
    args: z.looseObject({}),
    run: (ctx, input) => {
      const patch = explained(() => parseOrExplain(totalBudgetSchema, input, 'total budget'));
      const next = { ...ctx.store.installBudget() };
      if (patch.dailySpendUsd !== undefined) next.dailyUsd = patch.dailySpendUsd;
      if (patch.dailyTokenBudget !== undefined) next.dailyTokens = patch.dailyTokenBudget;
      ctx.store.db.transaction(() => {
        ctx.store.setInstallBudget(next);
        ctx.store.logGroupChange({ at: ctx.host.tasks.now(), groupId: 0, folder: '(total)', actor: `chat:${ctx.group.folder}`, change: { totalBudget: patch } });
      })();
      return { dailySpendUsd: next.dailyUsd, dailyTokenBudget: next.dailyTokens };
    },
  }),
};
