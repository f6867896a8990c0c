// The console's API against a real store and a real orchestrator (no sandbox needed: nothing here runs an agent).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBoard } from '../src/core/run-board.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let base: string;
let auth: Record<string, string>;
beforeAll(async () => {
  h = await startHarness();
  base = `${h.app.local.address().url}api/console/`;
  auth = { Authorization: `Bearer ${new URL(h.app.chatUrl).hash.replace('#token=', '')}`, 'Content-Type': 'application/json' };
});
afterAll(() => h?.close());

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(base + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, data: (await res.json()) as any };
};

describe('console API', () => {
  it('refuses requests without the token', async () => {
    expect((await fetch(`${base}overview`)).status).toBe(401);
  });

  it('edits settings after validating every one, and leaves the group untouched on a refusal', async () => {
    const main = h.app.store.mainGroup()!;
    const before = h.app.store.groupById(main.id)!;
    for (const [body, words] of [
      [{ egressAllow: ['not a domain!'] }, 'allowed domain'],
      [{ limits: { memoryMb: 1 } }, 'memoryMb'],
      [{ trigger: '' }, 'trigger'],
      [{ dailyTokenBudget: 1.5 }, 'dailyTokenBudget'],
      [{ additionalMounts: [{ hostPath: '/etc' }] }, 'mount allowlist'],
      [{ surprise: 1 }, 'surprise'],
    ] as const) {
      const { status, data } = await call('PATCH', `groups/${main.id}`, body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(data.error).toContain(words);
    }
    expect(h.app.store.groupById(main.id)).toEqual(before);
    const ok = await call('PATCH', `groups/${main.id}`, { trigger: '@Bob', egressAllow: ['example.org'], limits: { memoryMb: 512 }, dailyTokenBudget: 5000 });
    expect(ok.status).toBe(200);
    expect(ok.data).toMatchObject({ trigger: '@Bob', egressAllow: ['example.org'], limits: { memoryMb: 512 }, dailyTokenBudget: 5000 });
    const reset = await call('PATCH', `groups/${main.id}`, { egressAllow: null, limits: null, dailyTokenBudget: null });
    expect(reset.data).toMatchObject({ egressAllow: null, limits: null, dailyTokenBudget: null, trigger: '@Bob' });
    expect(h.app.store.groupById(main.id)!.containerConfig).toEqual({});
  });

  it('registers a known chat and unregisters it; main stays', async () => {
    h.app.store.upsertChat({ chatId: 'wa:family@g.us', name: 'Family', isGroup: true });
    expect((await call('GET', 'groups')).data.chats).toContainEqual({ chatId: 'wa:family@g.us', name: 'Family', isGroup: true });
    expect((await call('POST', 'groups', { chatId: 'wa:family@g.us', folder: '../x' })).status).toBe(400);
    const made = await call('POST', 'groups', { chatId: 'wa:family@g.us', folder: 'family' });
    expect(made.status).toBe(200);
    const family = h.app.store.groupByChat('wa:family@g.us')!;
    expect((await call('DELETE', `groups/${family.id}`)).status).toBe(200);
    expect(h.app.store.groupByChat('wa:family@g.us')).toBeUndefined();
    expect((await call('DELETE', `groups/${h.app.store.mainGroup()!.id}`)).status).toBe(409);
  });

  it('pauses, resumes and runs a task through the task ops', async () => {
    const main = h.app.store.mainGroup()!;
    const now = Date.now();
    h.app.store.tasks.create({ id: 'tapi', groupId: main.id, createdBy: main.id, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: now, nextRun: now + 3_600_000 }, now);
    expect((await call('POST', 'tasks/tapi/pause')).data.status).toBe('paused');
    expect((await call('POST', 'tasks/tapi/pause')).data.error).toContain('not active');
    expect((await call('POST', 'tasks/tapi/resume')).data.status).toBe('active');
    expect((await call('POST', 'tasks/tapi/explode')).status).toBe(404);
    expect((await call('GET', 'tasks')).data.tasks.map((t: { id: string }) => t.id)).toContain('tapi');
  });

  it('reports usage per group per day, egress decisions and pairing', async () => {
    const main = h.app.store.mainGroup()!;
    h.app.store.recordUsage({ groupId: main.id, runId: 'r1', inputTokens: 100, outputTokens: 20, cacheCreationInputTokens: 0, cacheReadInputTokens: 5 });
    const { days } = (await call('GET', 'spend?days=3')).data;
    expect(days).toHaveLength(3);
    expect(days.at(-1).groups[main.name]).toBeGreaterThanOrEqual(125);
    expect((await call('GET', 'overview')).data).toMatchObject({ backend: 'bwrap', runs: 0 });
    runBoard(h.config.dataDir).egress({ group: 'main', host: 'evil.example', port: 443, method: 'CONNECT', allowed: false, reason: 'not on the list' });
    const card = h.app.store.approvals.open({ groupId: main.id, folder: main.folder, host: 'api.example', port: 443, method: 'CONNECT', reason: 'to look it up' }, Date.now());
    h.app.store.approvals.decide(card, 'deny', 'local:local:owner', Date.now());
    const egress = (await call('GET', 'egress')).data;
    expect(egress.decisions[0]).toMatchObject({ host: 'evil.example', allowed: false });
    expect(egress.approvals[0]).toMatchObject({ id: card, host: 'api.example', reason: 'to look it up', status: 'deny', decidedBy: 'local:local:owner' });
    expect((await call('POST', 'pairing/nosuch')).status).toBe(404);
    expect((await call('POST', 'runs/rnope/stop')).status).toBe(404);
  });
});
