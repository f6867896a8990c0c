// Group settings and spend from chat, end to end: real store and queue, real bubblewrap sandboxes running the
// real Claude Agent SDK against the scripted fake model. The main chat changes another group by op; a group may
// not change itself; a money budget warns at 80 %, stops at 100 % and goes on once today is extended.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceOf } from '../src/groups/prices.js';
import { spendSince, today } from '../src/groups/spend.js';
import { text, toolUse, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { addGroup, newestMessage, repliesIn, runStep, sayIn, stepScript } from './support/scenario.js';
import { until } from './support/wait.js';

const MAIN = 'local:owner';
let h: Harness;

const steps = stepScript({
  'set club': [toolUse('mcp__carapace__update_group', { group: 'club', trigger: '@Bob', requiresTrigger: true, dailyTokenBudget: 10 })],
  'bad settings': [toolUse('mcp__carapace__update_group', { group: 'club', dailySpendUsd: -5, trigger: 'two words' })],
  'raise my budget': [
    toolUse('mcp__carapace__update_group', { dailySpendUsd: 100 }),
    toolUse('mcp__carapace__update_group', { group: 'main', trigger: '@Evil' }),
    toolUse('mcp__carapace__show_group', { group: 'main' }),
    toolUse('mcp__carapace__show_spend', {}),
  ],
  'extend shop': [toolUse('mcp__carapace__extend_budget', { group: 'shop', usd: 2 })],
  'show spend': [toolUse('mcp__carapace__show_spend', {})],
  'remove family': [toolUse('mcp__carapace__unregister_group', { group: 'family' })],
  'limit band': [toolUse('mcp__carapace__update_group', { group: 'band', limits: { memoryMb: 512 } })],
});

/** "SPEND 0.85" in a chat: a reply whose reported input brings the chat's spend today to $0.85 (at its model's price). */
const script: Script = (req) => {
  const spend = /^SPEND ([\d.]+)$/.exec(newestMessage(req.lastUserText).trim());
  if (!spend || req.isSideRequest || req.toolResults.length > 0) return steps(req);
  const shop = h.app.store.groupByChat('local:shop')!;
  const spent = spendSince(h.app.store, today(Date.now(), 'UTC').start, shop.id).usd;
  const input = Math.max(0, Math.round(((Number(spend[1]) - spent) / priceOf(req.model).input) * 1_000_000));
  return { content: [text(`spent up to $${spend[1]}`)], usage: { input_tokens: input } };
};

const assistantTexts = (chatId: string) => h.app.store.recentMessages(chatId, 200).filter((m) => m.fromAssistant).map((m) => m.text);

beforeAll(async () => {
  h = await startHarness({ script });
});
afterAll(async () => {
  await h?.close();
});

describe('group settings from chat, through the sandbox', () => {
  it("a change to a group's sandbox (limits, mounts) closes its live sandbox, so the next message gets the new one", async () => {
    addGroup(h, 'band');
    sayIn(h, 'local:band', '@Andy hello band');
    await repliesIn(h, 'local:band', 1);
    const band = h.app.store.groupByChat('local:band')!;
    expect(h.app.store.runningRuns().some((r) => r.groupId === band.id)).toBe(true); // idle, waiting for more
    await runStep(h, MAIN, 'limit band');
    await until(() => !h.app.store.runningRuns().some((r) => r.groupId === band.id), 15_000, () => 'the band run closed');
  });

  it("main changes a group's trigger and budget by op, and both take effect at once", async () => {
    const club = addGroup(h, 'club');
    const result = await runStep(h, MAIN, 'set club');
    expect(result).toContain('"trigger": {\n      "from": "@Andy",\n      "to": "@Bob"');
    expect(h.app.store.groupById(club.id)).toMatchObject({ trigger: '@Bob', requiresTrigger: true, containerConfig: { dailyTokenBudget: 10 } });
    expect(h.app.store.groupChanges(club.id)[0]).toMatchObject({ actor: 'chat:main', change: { dailyTokenBudget: { from: null, to: 10 } } });

    const before = h.fake.requests.length;
    sayIn(h, 'local:club', 'hello without the trigger');
    sayIn(h, 'local:club', '@Bob are you there?');
    // The trigger now is @Bob; the 10-token budget cannot cover a call: the chat is told, no model call goes out.
    const [note] = await repliesIn(h, 'local:club', 1);
    expect(note).toMatch(/^⚠️ This chat has nearly used its daily model budget \(0 of 10 tokens, and the next model call could take up to [\d,]+\)/);
    expect(h.fake.requests.slice(before).filter((r) => r.kind === 'main' && JSON.stringify(r.body).includes('are you there'))).toEqual([]);
  });

  it('a bad value gets a clear error and changes nothing', async () => {
    const result = await runStep(h, MAIN, 'bad settings');
    // (the SDK adds a hint of its own after a tool's error: only the host's first line is ours)
    expect(result.split('\n').slice(0, 2)).toEqual([
      'RESULT bad settings:',
      '[error] Invalid settings for "club": trigger: one word without spaces, e.g. "@Andy"; dailySpendUsd: Too small: expected number to be >0.',
    ]);
    expect(h.app.store.groupByChat('local:club')).toMatchObject({ trigger: '@Bob', containerConfig: { dailyTokenBudget: 10 } });
  });

  it('a group trying to change its own budget or another group is refused with a clear message', async () => {
    addGroup(h, 'family');
    const result = await runStep(h, 'local:family', 'raise my budget');
    const [own, other, peek, spend] = result
      .replace(/^RESULT raise my budget:\n/, '')
      .split('\n---\n')
      .map((r) => (r.startsWith('[error]') ? r.split('\n')[0] : r));
    const refusal =
      "[error] Only the main chat can change a chat's settings (name, trigger, budgets, web access, mounts, limits). Ask the owner to do it from the main chat.";
    expect(own).toBe(refusal);
    expect(other).toBe(refusal);
    expect(peek).toBe('[error] This chat can only see its own settings, not "main"; only the main chat manages other chats.');
    expect(JSON.parse(spend).groups.map((g: { folder: string }) => g.folder)).toEqual(['family']); // its own spend only
    expect(h.app.store.groupByChat('local:family')!.containerConfig).toEqual({});
    expect(h.app.store.mainGroup()!.trigger).toBe('@Andy');
  });

  it('spend: one warning in main at 80 %, a hard stop at 100 % with the chat told, and "extend today" lets it go on', async () => {
    const shop = addGroup(h, 'shop', { containerConfig: { dailySpendUsd: 1 } });
    const mainBefore = assistantTexts(MAIN).length;
    sayIn(h, 'local:shop', 'SPEND 0.85');
    await repliesIn(h, 'local:shop', 1);
    const warning = await until(() => assistantTexts(MAIN).slice(mainBefore).find((t) => t.includes('"shop" has')), 10_000, () => 'the 80 % warning');
    expect(warning).toMatch(/^⚠️ "shop" has passed 80 % of today's budget \(\$0\.8\d of \$1\.00\)\.$/);

    sayIn(h, 'local:shop', 'SPEND 1.02');
    const shopTexts = await repliesIn(h, 'local:shop', 3);
    // The stop notice is queued when the call's usage is metered, which can be before its answer is delivered.
    expect(shopTexts.slice(1).sort()).toEqual(['spent up to $1.02', "⛔ This chat has used today's budget, so I'll stop here until tomorrow — unless the owner extends it."]);
    await until(() => assistantTexts(MAIN).slice(mainBefore).some((t) => t.startsWith('⛔')), 10_000, () => 'the 100 % warning');
    const calls = h.fake.requests.length;
    sayIn(h, 'local:shop', 'one more question');
    const stopped = (await repliesIn(h, 'local:shop', 4))[3];
    expect(stopped).toMatch(/^⚠️ This chat has used its daily spending budget \(\$1\.0\d of \$1\.00\), so I can't answer until \d{4}-\d\d-\d\d 00:00 \+00:00\./);
    expect(h.fake.requests.length).toBe(calls); // hard stop: no model call, not even a sandbox
    const warnings = assistantTexts(MAIN).slice(mainBefore).filter((t) => t.includes('"shop" has'));
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/^⛔ "shop" has used today's whole budget \(\$1\.0\d of \$1\.00\): no more model calls today\. Say "extend today by \$2"/);

    expect(await runStep(h, MAIN, 'extend shop')).toBe(
      'RESULT extend shop:\nToday\'s budget of "shop" is now $3.00; it returns to normal tomorrow.',
    );
    sayIn(h, 'local:shop', 'SPEND 1.5');
    expect((await repliesIn(h, 'local:shop', 5))[4]).toBe('spent up to $1.5');
    const spend = JSON.parse((await runStep(h, MAIN, 'show spend')).replace(/^RESULT show spend:\n/, ''));
    const row = spend.groups.find((g: any) => g.folder === 'shop');
    expect(row.limits).toEqual({ usd: 3 });
    expect(row.today.usd).toBeGreaterThan(1.49);
    expect(h.app.store.groupChanges(shop.id)[0]).toMatchObject({ actor: 'chat:main', change: { extendedToday: { usd: 2 } } });
    // Below 80 % of the extended budget: no new warning.
    expect(assistantTexts(MAIN).filter((t) => t.includes('"shop" has'))).toHaveLength(2);
  });

  it('main removes a group: its tasks stop, its folder is archived and the answer says where', async () => {
    const family = h.app.store.groupByChat('local:family')!;
    h.app.store.tasks.create(
      { id: 'tfam', groupId: family.id, createdBy: family.id, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: Date.now(), nextRun: Date.now() + 3_600_000 },
      Date.now(),
    );
    const result = await runStep(h, MAIN, 'remove family');
    const archive = /archived at (\S+)\.$/.exec(result)?.[1];
    expect(result).toMatch(/^RESULT remove family:\nRemoved "family" \(local:family\): its scheduled tasks are gone and the assistant no longer answers there\./);
    expect(archive).toMatch(new RegExp(`^${h.dataDir}/archives/family/removed-\\d{8}-\\d{6}$`));
    expect(readFileSync(join(archive!, 'folder', 'CLAUDE.md'), 'utf8')).toContain('family');
    expect(existsSync(join(h.dataDir, 'groups', 'family'))).toBe(false);
    expect(h.app.store.tasks.get('tfam')).toBeUndefined();
    expect(h.app.store.groupByChat('local:family')).toBeUndefined();
    // Its chat is no longer answered (its messages are still stored).
    const calls = h.fake.requests.length;
    sayIn(h, 'local:family', 'anyone?');
    await new Promise((r) => setTimeout(r, 500));
    expect(h.fake.requests.length).toBe(calls);
    expect(h.app.store.recentMessages('local:family', 1)[0].text).toBe('anyone?');
  });
});
