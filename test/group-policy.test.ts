// Per-group decisions: the day a budget counts, admission against it, and what a malformed config falls back to.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DEFAULT_ALLOWLIST } from '../src/boundary/egress-policy.js';
import { GroupPolicy } from '../src/groups/group-policy.js';
import { sandboxLimits } from '../src/groups/container-config.js';
import { validateContainerConfig } from '../src/groups/group-config.js';
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
  /** A call that may take up to `tokens`, priced at the dearest rate (no model named). */
  const upTo = (tokens: number) => () => ({ tokens, inputTokens: 0, maxTokens: tokens });

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

  it('uses the default domain list unless the group has its own', () => {
    const { store, policy, group } = setup();
    expect(policy.egressRules(group.id).length).toBe(DEFAULT_ALLOWLIST.length);
    store.setContainerConfig(group.id, { egress: { allow: ['example.com'] }, somethingElse: 1 });
    expect(policy.egressRules(group.id)).toEqual([{ host: 'example.com', wildcard: false, port: undefined }]);
  });

  it('attack: a container_config made invalid outside Carapace keeps its budget and valid settings; the bad ones fall back, logged once', () => {
    const { store, policy, group, lines } = setup();
    // Written by hand or by an older version: bad domains, bad limits, a mount with an unknown key.
    store.setContainerConfig(group.id, {
      dailyTokenBudget: 1000,
      egress: { allow: ['http://bad'] },
      limits: { memoryMb: 1, pids: 64 },
      additionalMounts: [{ hostPath: '/etc', sneaky: true }],
      allowSessionCommands: true,
    });
    const read = () => policy.security(store.groupById(group.id)!);
    expect(read()).toEqual({ dailyTokenBudget: 1000, egress: { allow: [] }, limits: {}, additionalMounts: [] });
    expect(policy.egressRules(group.id)).toEqual([]); // no web rather than the default list
    expect(policy.extraMounts(store.groupById(group.id)!)).toEqual([]);
    store.recordUsage({ groupId: group.id, runId: 'r1', ...usage(250) });
    const verdict = policy.admit(group.id); // the budget still holds
    expect(!verdict.ok && verdict.message).toMatch(/daily model budget \(1,000 of 1,000 tokens\)/);
    const config = loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_TZ: 'UTC', HOME: '/nonexistent-home' });
    expect(sandboxLimits(config, store.groupById(group.id)!)).toMatchObject({ memoryMb: config.sandbox.memoryMb, pids: config.sandbox.pids });
    const warnings = lines.filter((l) => /^invalid container_config/.test(l.msg));
    expect(warnings).toHaveLength(1); // read many times above, reported once
    expect(warnings[0]).toMatchObject({ level: 40, group: 'g' });
    for (const field of ['egress.allow.0: invalid allowed domain', 'limits.memoryMb', 'additionalMounts.0']) expect(warnings[0].problem).toContain(field);
    expect(warnings[0].problem).not.toContain('dailyTokenBudget');
    // A different problem is worth a new warning.
    store.setContainerConfig(group.id, { dailyTokenBudget: -5 });
    expect(read()).toEqual({ dailyTokenBudget: undefined });
    expect(lines.filter((l) => /^invalid container_config/.test(l.msg))).toHaveLength(2);
  });

  it('attack: an invalid container_config is refused when written, with the bad field named', () => {
    expect(() => validateContainerConfig({ dailyTokenBudget: '1000' }, 'Family')).toThrow(
      /^container_config of group "Family" is invalid: dailyTokenBudget: .*expected number/,
    );
    expect(() => validateContainerConfig({ egress: { allow: ['example.com', 'https://x.com/'] } }, 'Family')).toThrow(/egress\.allow\.1: invalid allowed domain/);
    expect(() => validateContainerConfig({ limits: { cpus: 0 } }, 'Family')).toThrow(/limits\.cpus: .*Allowed: .*dailyTokenBudget \(a positive whole number\)/);
    expect(() => validateContainerConfig({ additionalMounts: [{ hostPath: '' }] }, 'Family')).toThrow(/additionalMounts\.0\.hostPath/);
    const good = { dailyTokenBudget: 5000, egress: { allow: ['*.example.com'] }, limits: { pids: 64 }, allowSessionCommands: true };
    expect(validateContainerConfig(good, 'Family')).toEqual({ dailyTokenBudget: 5000, egress: { allow: ['*.example.com'] }, limits: { pids: 64 } });
  });

  it('without a budget a call’s estimate (a parse of the whole request) is read when the call ends, not before it', () => {
    const { store, policy, group } = setup();
    let reads = 0;
    const counted = () => {
      reads++;
      return upTo(600)();
    };
    const free = policy.reserve(group.id, 'r1', counted);
    expect(free.ok && reads).toBe(0); // the call goes out unparsed
    if (free.ok) free.ticket.settle({ ...usage(10), model: 'm' });
    expect(reads).toBe(1); // read once it ended: a later run is still checked against it
    expect(store.runUsage('r1')).toEqual({ calls: 1, ...usage(10) });
    expect(policy.budget(group.id)).toMatchObject({ used: 40, reserved: 0 });
    store.setContainerConfig(group.id, { dailyTokenBudget: 600 });
    expect(policy.admit(group.id).ok).toBe(false); // 40 used + a call like the last (600) would not fit
    store.setContainerConfig(group.id, { dailyTokenBudget: 1000 });
    const metered = policy.reserve(group.id, 'r1', counted);
    expect(metered.ok && reads).toBe(2); // with a budget: read before the call
    expect(policy.budget(group.id)).toMatchObject({ used: 40, reserved: 600 });
  });

  it('counts calls in flight: a reservation that does not fit is refused, a settled one counts what was used', () => {
    const { store, policy, group } = setup();
    store.setContainerConfig(group.id, { dailyTokenBudget: 1000 });
    const first = policy.reserve(group.id, 'r1', upTo(600));
    expect(first.ok).toBe(true);
    const second = policy.reserve(group.id, 'r1', upTo(600));
    expect(!second.ok && second.message).toMatch(
      /^This chat has nearly used its daily model budget \(600 of 1,000 tokens, and the next model call could take up to 600\), so I can't answer until/,
    );
    expect(policy.admit(group.id).ok).toBe(false); // a run that would ask the same does not start
    if (!first.ok) return;
    first.ticket.settle({ ...usage(50), model: 'm' });
    first.ticket.release(); // only the first ending counts
    expect(policy.budget(group.id)).toMatchObject({ used: 200, reserved: 0 });
    expect(store.runUsage('r1')).toEqual({ calls: 1, ...usage(50) });
    expect(policy.admit(group.id)).toEqual({ ok: true });
    const third = policy.reserve(group.id, 'r1', upTo(800));
    expect(third.ok).toBe(true);
    if (third.ok) third.ticket.release();
    expect(policy.budget(group.id)).toMatchObject({ used: 200, reserved: 0 });
  });
});
