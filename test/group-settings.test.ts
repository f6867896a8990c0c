// The shared settings schema, the price table and the money side of budgets, on a real (in-memory) store.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { GroupPolicy } from '../src/groups/group-policy.js';
import { costOf, estimateCost, formatUsd, priceOf } from '../src/groups/prices.js';
import { applySettings, groupSettings, parseOrExplain, settingsPatchSchema, SettingsError } from '../src/groups/settings-schema.js';
import { dueAlerts, type SpendAlert } from '../src/groups/spend-alerts.js';
import { spendReport } from '../src/groups/spend.js';
import { extendToday } from '../src/ops/spend-ops.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startOfMonth } from '../src/time.js';

const M = 1_000_000;
const tokens = (input: number, output = 0, cacheWrite = 0, cacheRead = 0) => ({
  inputTokens: input,
  outputTokens: output,
  cacheCreationInputTokens: cacheWrite,
  cacheReadInputTokens: cacheRead,
});

describe('prices', () => {
  it('prices each kind of token per model family, dated ids included; unknown models at the dearest rate', () => {
    expect(costOf(tokens(M, M, M, M), 'claude-sonnet-4-5-20250929')).toBeCloseTo(3 + 15 + 3.75 + 0.3, 10);
    expect(costOf(tokens(M, M, M, M), 'claude-opus-4-5-20251101')).toBeCloseTo(5 + 25 + 6.25 + 0.5, 10);
    expect(costOf(tokens(M, M), 'claude-opus-4-1-20250805')).toBeCloseTo(90, 10);
    expect(costOf(tokens(M, M, 0, M), 'claude-haiku-4-5')).toBeCloseTo(1 + 5 + 0.1, 10);
    expect(costOf(tokens(1000, 500), 'claude-3-5-haiku-20241022')).toBeCloseTo(0.0008 + 0.002, 12);
    expect(priceOf('claude-fake').input).toBe(15);
    expect(priceOf(undefined).output).toBe(75);
    expect(estimateCost('claude-sonnet-4-5', 10_000, 32_000)).toBeCloseTo(0.03 + 0.48, 10);
    expect([formatUsd(2), formatUsd(0.004), formatUsd(0)]).toEqual(['$2.00', '$0.0040', '$0.00']);
  });
});

const setup = () => {
  const store = new Store(openDatabase(':memory:'));
  const group = (folder: string, isMain = false) =>
    store.registerGroup({ channel: 'local', chatId: `local:${folder}`, name: folder, folder, trigger: '@Andy', requiresTrigger: true, isMain });
  return { store, main: group('main', true), club: group('club') };
};

describe('the settings schema', () => {
  it('accepts a change of any settings and applies it to the group and its container config', () => {
    const { club } = setup();
    const patch = parseOrExplain(
      settingsPatchSchema,
      { trigger: '@Bob', dailySpendUsd: 2.5, allowedDomains: ['*.example.com'], sessionCommands: true, limits: { pids: 64 } },
      'settings',
    );
    const { fields, changes } = applySettings({ ...club, containerConfig: { dailyTokenBudget: 5000, other: 'kept' } }, patch);
    expect(fields).toMatchObject({ trigger: '@Bob', name: 'club', requiresTrigger: true });
    expect(fields.containerConfig).toEqual({
      dailyTokenBudget: 5000,
      other: 'kept',
      dailySpendUsd: 2.5,
      egress: { allow: ['*.example.com'] },
      allowSessionCommands: true,
      limits: { pids: 64 },
    });
    expect(changes.trigger).toEqual({ from: '@Andy', to: '@Bob' });
    expect(changes.allowedDomains).toEqual({ from: null, to: ['*.example.com'] });
    // null puts a setting back to its default
    const back = applySettings({ ...club, containerConfig: fields.containerConfig }, { allowedDomains: null, dailySpendUsd: null, sessionCommands: false });
    expect(back.fields.containerConfig).toEqual({ dailyTokenBudget: 5000, other: 'kept', limits: { pids: 64 } });
    expect(groupSettings({ ...club, containerConfig: back.fields.containerConfig })).toMatchObject({ allowedDomains: null, dailySpendUsd: null, dailyTokenBudget: 5000 });
  });

  it('refuses bad values naming each field, unknown settings and an empty change', () => {
    const bad = (input: unknown) => () => parseOrExplain(settingsPatchSchema, input, 'settings for "club"');
    expect(bad({ dailySpendUsd: -1 })).toThrow(SettingsError);
    expect(bad({ dailySpendUsd: -1 })).toThrow(/^Invalid settings for "club": .*dailySpendUsd/);
    expect(bad({ trigger: 'two words' })).toThrow(/one word without spaces/);
    expect(bad({ allowedDomains: ['not a domain!'] })).toThrow(/allowedDomains/);
    expect(bad({ dailyTokenBudget: 1.5 })).toThrow(/dailyTokenBudget.*int/i);
    expect(bad({ limits: { memoryMb: 1 } })).toThrow(/limits.*memoryMb/);
    expect(bad({ extraMounts: [{ hostPath: '/x', evil: true }] })).toThrow(/extraMounts/);
    expect(bad({ budget: 5 })).toThrow(/budget/);
    expect(bad({})).toThrow(/name at least one setting to change/);
  });
});

describe('spend and money budgets', () => {
  const config = loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_TZ: 'UTC', HOME: '/nonexistent-home' });
  const policyFor = (store: Store, alerts: SpendAlert[] = []) =>
    new GroupPolicy({ store, config, log: pino({ enabled: false }), protectedPaths: [], projectDir: '/nonexistent', alert: (a) => void alerts.push(a) });

  it('reports today and this month per group and in total, priced per model', () => {
    const { store, main, club } = setup();
    const now = Date.now();
    const lastMonth = startOfMonth(now, 'UTC') - 1;
    store.recordUsage({ groupId: club.id, runId: 'r1', model: 'claude-sonnet-4-5', ...tokens(M), at: now });
    store.recordUsage({ groupId: club.id, runId: 'r0', model: 'claude-sonnet-4-5', ...tokens(M), at: lastMonth });
    store.recordUsage({ groupId: main.id, runId: 'r2', model: 'claude-haiku-4-5', ...tokens(0, M), at: now });
    const report = spendReport(store, 'UTC', now);
    const club$ = report.groups.find((g) => g.folder === 'club')!;
    expect(club$.today).toEqual({ usd: 3, tokens: M });
    expect(club$.month.usd).toBe(3); // last month's call is not this month's
    expect(report.total.today).toEqual({ usd: 8, tokens: 2 * M });
  });

  it('stops a group at 100 % of its money budget (calls in flight count), warns once at 80 % and once at 100 %, and an extension lets it go on', () => {
    const { store, club } = setup();
    const alerts: SpendAlert[] = [];
    const policy = policyFor(store, alerts);
    store.setContainerConfig(club.id, { dailySpendUsd: 1 });
    const call = { tokens: 1000, inputTokens: 1000, maxTokens: 0, model: 'claude-sonnet-4-5' };
    const spend = (usd: number) => {
      const admission = policy.reserve(club.id, 'r1', () => call);
      if (!admission.ok) return admission.message;
      admission.ticket.settle({ model: 'claude-sonnet-4-5', ...tokens(Math.round((usd / 3) * M)) });
      return 'ok';
    };
    expect(spend(0.5)).toBe('ok');
    expect(alerts).toEqual([]);
    expect(spend(0.35)).toBe('ok'); // 85 %
    expect(alerts.map((a) => [a.scope, a.level])).toEqual([[club.id, 80]]);
    expect(alerts[0].text).toBe('⚠️ "club" has passed 80 % of today\'s budget ($0.85 of $1.00).');
    expect(spend(0.05)).toBe('ok'); // 90 %: no second warning
    expect(alerts).toHaveLength(1);
    expect(spend(0.2)).toBe('ok'); // 110 %: one call's worth may go over
    expect(alerts.map((a) => a.level)).toEqual([80, 100]);
    expect(spend(0.01)).toMatch(/^This chat has used its daily spending budget \(\$1\.10 of \$1\.00\), so I can't answer until/);
    expect(policy.admit(club.id).ok).toBe(false);
    extendToday(store, club.id, { usd: 2 }, 'test', 'UTC');
    expect(policy.admit(club.id)).toEqual({ ok: true });
    expect(policy.budget(club.id).usd).toMatchObject({ limit: 3, reserved: 0 });
    expect(spend(1.4)).toBe('ok'); // $2.50 of $3: the 80 % warning is due again, once
    expect(alerts.map((a) => a.level)).toEqual([80, 100, 80]);
    expect(store.groupChanges(club.id)[0]).toMatchObject({ actor: 'test', change: { extendedToday: { usd: 2 } } });
  });

  it('a reservation in flight counts against the budget until it settles or is released', () => {
    const { store, club } = setup();
    const policy = policyFor(store);
    store.setContainerConfig(club.id, { dailySpendUsd: 0.5 });
    const big = policy.reserve(club.id, 'r1', () => ({ tokens: 40_000, inputTokens: 8_000, maxTokens: 32_000, model: 'claude-sonnet-4-5' }));
    expect(big.ok).toBe(true);
    expect(policy.budget(club.id).usd.reserved).toBeCloseTo(0.024 + 0.48, 10);
    expect(policy.reserve(club.id, 'r2', () => ({ tokens: 10, inputTokens: 10, maxTokens: 0, model: 'claude-sonnet-4-5' })).ok).toBe(false);
    if (big.ok) big.ticket.release();
    expect(policy.budget(club.id).usd.reserved).toBe(0);
    expect(policy.admit(club.id)).toEqual({ ok: true });
  });

  it('the total budget covers every group together, and extending a side without a budget is refused', () => {
    const { store, main, club } = setup();
    const policy = policyFor(store);
    store.setInstallBudget({ dailyUsd: 1, dailyTokens: null });
    store.recordUsage({ groupId: main.id, runId: 'r1', model: 'claude-sonnet-4-5', ...tokens(300_000) });
    expect(policy.admit(club.id)).toEqual({ ok: true }); // $0.90 of $1
    store.recordUsage({ groupId: club.id, runId: 'r2', model: 'claude-sonnet-4-5', ...tokens(40_000) });
    const refused = policy.admit(club.id);
    expect(!refused.ok && refused.message).toMatch(/^The assistant has used its total daily spending budget/);
    expect(() => extendToday(store, club.id, { usd: 1 }, 'test', 'UTC')).toThrow('"club" has no daily money budget to extend (dailySpendUsd).');
    expect(() => extendToday(store, 'total', { tokens: 5 }, 'test', 'UTC')).toThrow('The total has no daily token budget to extend');
    expect(() => extendToday(store, 'total', { usd: -2 }, 'test', 'UTC')).toThrow(/Invalid extension: .*usd/);
    extendToday(store, 'total', { usd: 2 }, 'test', 'UTC');
    expect(policy.admit(club.id)).toEqual({ ok: true });
    expect(dueAlerts(store, club.id, 'UTC')).toEqual([]); // 34 % of $3
  });
});
