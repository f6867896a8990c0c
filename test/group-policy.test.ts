// Per-group decisions: the day a budget counts, admission against it, and what a malformed config falls back to.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DEFAULT_ALLOWLIST } from '../src/boundary/egress-policy.js';
import { GroupPolicy } from '../src/groups/group-policy.js';
import { startOfDay } from '../src/time.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';

describe('group policy', () => {
  it('starts the budget day at local midnight, also across a DST change', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(startOfDay(at('2026-11-24T15:00:00Z'), 'UTC')).toBe(at('2026-11-24T00:00:00Z'));
    expect(startOfDay(at('2026-11-24T15:00:00Z'), 'Europe/Berlin')).toBe(at('2026-11-23T23:00:00Z'));
    expect(startOfDay(at('2026-11-24T23:30:00Z'), 'Europe/Berlin')).toBe(at('2026-11-24T23:00:00Z'));
    expect(startOfDay(at('2026-03-29T12:00:00Z'), 'Europe/Berlin')).toBe(at('2026-03-28T23:00:00Z')); // CET midnight, CEST noon
    expect(startOfDay(at('2026-11-24T03:00:00Z'), 'America/New_York')).toBe(at('2026-11-23T05:00:00Z'));
  });

  const setup = () => {
    const store = new Store(openDatabase(':memory:'));
    const lines: any[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const config = loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_TZ: 'UTC', HOME: '/nonexistent-home' });
    const policy = new GroupPolicy({ store, config, log, protectedPaths: [], projectDir: '/nonexistent-project' });
    const group = store.registerGroup({ channel: 'local', chatId: 'local:g', name: 'G', folder: 'g', trigger: '@Andy', requiresTrigger: true, isMain: false });
    return { store, policy, group, lines };
  };
  const usage = (n: number) => ({ inputTokens: n, outputTokens: n, cacheCreationInputTokens: n, cacheReadInputTokens: n });

  it('admits calls until today’s usage (all token kinds) reaches the budget; yesterday does not count', () => {
    const { store, policy, group } = setup();
    expect(policy.admit(group.id)).toEqual({ ok: true }); // no budget set
    store.setContainerConfig(group.id, { dailyTokenBudget: 1000 });
    store.recordUsage({ groupId: group.id, runId: 'r0', ...usage(500), at: startOfDay(Date.now(), 'UTC') - 1 });
    store.recordUsage({ groupId: group.id, runId: 'r1', ...usage(200) });
    expect(policy.budget(group.id)).toMatchObject({ limit: 1000, used: 800 });
    expect(policy.admit(group.id)).toEqual({ ok: true });
    store.recordUsage({ groupId: group.id, runId: 'r1', ...usage(50) });
    const verdict = policy.admit(group.id);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.message).toMatch(/^This chat has used its daily model budget \(1,000 of 1,000 tokens\), so I can't answer until \d{4}-\d\d-\d\d 00:00 \+00:00\./);
    expect(store.runUsage('r1')).toEqual({ calls: 2, ...usage(250) });
  });

  it('uses the default domain list unless the group has its own; a malformed config fails closed and is logged', () => {
    const { store, policy, group, lines } = setup();
    expect(policy.egressRules(group.id).length).toBe(DEFAULT_ALLOWLIST.length);
    store.setContainerConfig(group.id, { egress: { allow: ['example.com'] }, somethingElse: 1 });
    expect(policy.egressRules(group.id)).toEqual([{ host: 'example.com', wildcard: false, port: undefined }]);
    store.setContainerConfig(group.id, { egress: { allow: ['http://bad'] }, additionalMounts: [{ hostPath: '/etc' }] });
    expect(policy.egressRules(group.id)).toEqual([]);
    expect(policy.extraMounts(store.groupById(group.id)!)).toEqual([]);
    expect(lines.some((l) => l.msg === 'invalid container_config: no extra mounts, no web access' && /invalid allowed domain/.test(l.problem))).toBe(true);
  });
});
