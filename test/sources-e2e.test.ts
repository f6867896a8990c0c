// The two first things people ask for, end to end through the real pipeline: real store and scheduler, real
// bubblewrap sandboxes running the real Agent SDK, scripted by the fake Anthropic API, the real WhatsApp channel
// over the fake socket. (a) a weekly "analyse the git history" of a repository mounted read-only, answering in
// main; (b) a daily digest of two watched sources, read with read_messages, answering in main while nothing ever
// reaches the sources; (c) a non-main group reaching beyond its own chat is refused.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTaskNow } from '../src/cli/tasks.js';
import { defaultScript, text, toolUse, type Script, type ScriptRequest } from './support/fake-anthropic.js';
import { FakeWhatsApp, fakeWhatsAppChannel, groupMetadata, OWNER_PN, waMessage } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, startHarness, type Harness } from './support/harness.js';
import { addGroup, newestMessage, runStep, sayIn, stepScript } from './support/scenario.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FAST = { CARAPACE_TASK_MIN_INTERVAL_MS: '1000' };
const isTaskRun = (req: ScriptRequest) => req.allUserText.some((t) => t.startsWith('<scheduled_task '));
const results = (req: ScriptRequest) => req.toolResults.map((r) => `${r.isError ? '[error] ' : ''}${r.content}`).join('\n---\n');
/** The JSON a tool answered with, out of a `LABEL:\n{…}` reply. */
const answerOf = (reply: string) => JSON.parse(reply.slice(reply.indexOf('\n') + 1));

/** `carapace tasks run <id>` against the running assistant (its local API listens on a port picked at start). */
const runTask = (x: Harness, id: string) =>
  runTaskNow({ ...x.config, web: { ...x.config.web, port: Number(new URL(x.app.local.address().url).port) } }, x.app.store, id);

/** The assistant's messages in a chat (as stored once sent). */
const assistantIn = (x: Harness, chatId: string) => x.app.store.recentMessages(chatId, 100).filter((m) => m.fromAssistant).map((m) => m.text);

/** A small repository with three commits whose subjects and hashes the summary must name. */
function makeRepo(): { repo: string; commits: { hash: string; subject: string }[] } {
  const repo = join(sandboxReadableTempDir('carapace-repo-'), 'garden-planner');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: repo } }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Olga');
  git('config', 'user.email', 'olga@example.org');
  for (const [file, subject] of [['plan.md', 'Plan the tomato beds'], ['water.md', 'Add a watering schedule'], ['plan.md', 'Move the beans to the sunny side']]) {
    writeFileSync(join(repo, file), `${subject}\n`, { flag: 'a' });
    git('add', file);
    git('commit', '-q', '-m', subject);
  }
  const commits = git('log', '--format=%h %s').split('\n').map((l) => ({ hash: l.slice(0, l.indexOf(' ')), subject: l.slice(l.indexOf(' ') + 1) }));
  return { repo, commits };
}

describe('recipes end to end', () => {
  it('(a) a weekly git-history task of a group with the repository mounted read-only answers in main', async () => {
    const { repo, commits } = makeRepo();
    let taskPrompt = '';
    const script: Script = (req) => {
      if (req.isSideRequest) return defaultScript(req);
      if (isTaskRun(req)) {
        if (req.toolResults.length > 0) return { content: [text(`Weekly git summary of garden-planner:\n${results(req)}`)] };
        taskPrompt = req.lastUserText;
        const command = "git -c safe.directory='*' -C /workspace/extra/garden-planner log --format='%h %s'; touch /workspace/extra/garden-planner/x 2>/dev/null || echo READ-ONLY";
        return { content: [toolUse('Bash', { command, description: 'read the git history' })] };
      }
      if (req.toolResults.length > 0) return { content: [text(`SCHEDULED:\n${req.toolResults[0].content}`)] };
      const input = {
        prompt: 'Analyse the git history of /workspace/extra/garden-planner: what changed this week, naming the commits.',
        schedule_type: 'cron',
        schedule_value: '0 9 * * 1',
        context_mode: 'isolated',
        target_group: 'dev',
        deliver_to: 'main',
      };
      return { content: [toolUse('mcp__carapace__schedule_task', input)] };
    };
    h = await startHarness({ env: FAST, script });
    // The owner's allowlist permits the repository's folder; the group asks for it read-only.
    mkdirSync(dirname(h.config.mountAllowlistPath), { recursive: true });
    writeFileSync(h.config.mountAllowlistPath, JSON.stringify({ allowedRoots: [{ path: dirname(repo), allowReadWrite: false }] }));
    const dev = addGroup(h, 'dev', { containerConfig: { additionalMounts: [{ hostPath: repo, readonly: true }] } });

    await h.say('Every Monday at 9 analyse the git history of garden-planner in the dev group and tell me here');
    const [scheduled] = await h.waitForReplies(1);
    const task = answerOf(scheduled.text);
    expect(task).toMatchObject({ group: 'dev', deliverTo: 'local:owner', schedule: 'cron 0 9 * * 1' });

    expect(await runTask(h, task.id)).toBe(`Task ${task.id} is running now; its reply goes to local:owner.`);
    const [, summary] = await h.waitForReplies(2, 60_000);
    expect(summary.text).toMatch(/^Weekly git summary of garden-planner:\n/);
    for (const c of commits) expect(summary.text).toContain(`${c.hash} ${c.subject}`);
    expect(summary.text).toContain('READ-ONLY'); // the sandbox could read the repository, not change it
    expect(taskPrompt).toContain('Your reply goes to another chat (local:owner), not this one;');
    // It ran as the dev group, in its sandbox, and said nothing in the dev chat.
    const taskRun = h.app.store.db.prepare(`SELECT r.group_id AS groupId, t.status FROM task_runs t JOIN runs r ON r.id = t.run_id`).get();
    expect(taskRun).toEqual({ groupId: dev.id, status: 'succeeded' });
    expect(assistantIn(h, dev.chatId)).toEqual([]);
  });

  it('(b) a daily digest in main reads two watched sources; nothing is ever sent to them', async () => {
    const NEIGHBOURS = '120363000000000077@g.us';
    const BOB = '4915100000002@s.whatsapp.net';
    const SELF = `${OWNER_PN}@s.whatsapp.net`;
    const script: Script = (req) => {
      if (req.isSideRequest) return defaultScript(req);
      if (isTaskRun(req)) {
        if (req.toolResults.length > 0) return { content: [text(`Your evening digest:\n${req.toolResults.map((r) => r.content).join('\n\n')}`)] };
        return {
          content: [
            toolUse('mcp__carapace__read_messages', { chat: `wa:${NEIGHBOURS}`, since: 'today' }),
            toolUse('mcp__carapace__read_messages', { chat: 'local:work', since: 'today' }),
          ],
        };
      }
      if (req.toolResults.length > 0) return { content: [text(`DONE:\n${results(req)}`)] };
      if (newestMessage(req.lastUserText).startsWith('watch')) {
        return { content: [toolUse('mcp__carapace__watch_chat', { chatId: `wa:${NEIGHBOURS}` }), toolUse('mcp__carapace__watch_chat', { chatId: 'local:work' })] };
      }
      const prompt = "Summarise today's messages of the Neighbours and Work sources for me, quoting what matters.";
      return { content: [toolUse('mcp__carapace__schedule_task', { prompt, schedule_type: 'cron', schedule_value: '0 21 * * *', context_mode: 'isolated' })] };
    };
    const wa = new FakeWhatsApp();
    wa.groups = [groupMetadata(NEIGHBOURS, 'Neighbours', [BOB])];
    h = await startHarness({ env: FAST, script, channels: (config, log) => [fakeWhatsAppChannel(wa, config, log)] });
    await until(() => h!.app.store.mainGroup()?.chatId === `wa:${SELF}` && h!.app.store.chatById(`wa:${NEIGHBOURS}`), 10_000, () => 'WhatsApp connected');
    h.app.store.upsertChat({ chatId: 'local:work', name: 'Work', isGroup: true });
    const owner = (said: string) => wa.receive([waMessage({ chat: SELF, fromMe: true, pushName: 'Olga Owner', message: { conversation: said } })]);
    const toOwner = (n: number) =>
      until(() => wa.texts().filter((_, i) => wa.sent[i].jid === SELF).length >= n && wa.sent.filter((s) => s.jid === SELF), 60_000, () => `${n} messages to the owner, got ${JSON.stringify(wa.texts())}`);

    owner('watch the Neighbours group and the Work chat');
    const [watching] = await toOwner(1);
    expect('text' in watching.content && watching.content.text).toMatch(/"folder": "neighbours",\s+"trigger": null,\s+"mode": "source"[\s\S]*"folder": "work",/);

    owner("every evening at 21:00 summarise today's Neighbours and Work messages for me");
    await toOwner(2);
    const [task] = h.app.store.tasks.list();
    expect(task).toMatchObject({ groupId: h.app.store.mainGroup()!.id, deliverTo: null, scheduleValue: '0 21 * * *' });

    // The sources talk all day — even to the assistant by name — and nobody answers.
    wa.receive([waMessage({ chat: NEIGHBOURS, from: BOB, pushName: 'Bob', message: { conversation: 'The bins go out on Thursday this week' } })]);
    wa.receive([waMessage({ chat: NEIGHBOURS, from: BOB, pushName: 'Bob', message: { conversation: '@Andy are you there?' } })]);
    sayIn(h, 'local:work', 'Release 2.4 is tagged, ship it tomorrow');
    sayIn(h, 'local:work', '@Andy deploy it now');
    await until(() => h!.app.store.recentMessages(`wa:${NEIGHBOURS}`, 10).length === 2 && h!.app.store.recentMessages('local:work', 10).length === 2);
    await new Promise((r) => setTimeout(r, 500)); // room for a wrongly started run to show up

    await runTask(h, task.id);
    const sent = await toOwner(3);
    const digest = 'text' in sent[2].content ? sent[2].content.text : '';
    expect(digest).toMatch(/^Andy: Your evening digest:\nChat "Neighbours" \(wa:120363000000000077@g\.us\): 2 matching messages\./);
    for (const quote of ['The bins go out on Thursday this week', '@Andy are you there?', 'Release 2.4 is tagged, ship it tomorrow', '@Andy deploy it now']) {
      expect(digest).toContain(quote);
    }
    // Nothing ever went to the sources: no socket send, no typing, no outbox row, no run of theirs.
    const sources = [`wa:${NEIGHBOURS}`, 'local:work'];
    expect(wa.sent.filter((s) => s.jid !== SELF)).toEqual([]);
    expect(wa.presences.filter((p) => p.jid === NEIGHBOURS)).toEqual([]);
    const outboxChats = h.app.store.db.prepare('SELECT DISTINCT chat_id AS c FROM outbox').pluck().all();
    expect(outboxChats).toEqual([`wa:${SELF}`]);
    const runGroups = h.app.store.db.prepare('SELECT DISTINCT group_id FROM runs').pluck().all();
    expect(runGroups).toEqual([h.app.store.mainGroup()!.id]);
    for (const chatId of sources) expect(assistantIn(h, chatId)).toEqual([]);
  });

  it('(c) a non-main group reading another chat or answering elsewhere is refused with a clear message', async () => {
    const overreach = [
      toolUse('mcp__carapace__read_messages', { chat: 'local:owner' }),
      toolUse('mcp__carapace__schedule_task', { prompt: 'x', schedule_type: 'cron', schedule_value: '0 9 * * *', deliver_to: 'main' }),
      toolUse('mcp__carapace__send_message', { chatId: 'local:owner', text: 'psst' }),
    ];
    h = await startHarness({ env: FAST, script: stepScript({ overreach }) });
    await h.say('my private notes');
    await h.waitForReplies(1);
    addGroup(h, 'family');
    const result = await runStep(h, 'local:family', 'overreach', 60_000);
    // Each refusal is the host's own message (the SDK appends a hint about the tool's schema after a blank line).
    expect(result.split('\n---\n').map((r) => r.split('\n\n')[0])).toEqual([
      'RESULT overreach:\n[error] This chat can read only its own messages, not local:owner; only the main chat can read other chats.',
      '[error] Only the main chat can deliver a task\'s replies to another chat; a task of this chat answers here, not in "main".',
      '[error] this chat may only act on itself, not on local:owner; only the main chat can reach other chats',
    ]);
    expect(h.app.store.tasks.list()).toEqual([]);
    expect(assistantIn(h, 'local:owner')).toHaveLength(1); // only the answer to the owner's own message
  });
});
