// Telegram end to end: updates from the fake Bot API server go through the real grammY clients, the real pipeline
// (store, queue, bubblewrap sandbox running the real Agent SDK against the fake model) and the replies come back
// to the fake as sendMessage/sendDocument. The journeys of issue 12: a group mention answered in the group,
// owner pairing, a photo in and a file out, a 429 storm, a 409 conflict, the network going away and coming back
// with the outbox drained once, and a restart in the middle of a reply.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelHealth } from '../src/channels/channel.js';
import { TelegramChannel } from '../src/channels/telegram/telegram-channel.js';
import { telegramOptions } from '../src/channels/telegram/plugin.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { defaultScript, text, toolUse, type Script } from './support/fake-anthropic.js';
import { BOT, dmWith, FakeTelegram, people, supergroup, TOKEN } from './support/fake-telegram.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const FAMILY = supergroup(-100111, 'Family');
const MENTION = '@carapace_test_bot';

let h: Harness | undefined;
let fake: FakeTelegram | undefined;
let channels: TelegramChannel[] = [];
afterEach(async () => {
  await h?.close();
  await fake?.close();
  h = fake = undefined;
  channels = [];
});

async function startWithTelegram(script: Script = defaultScript) {
  fake = await new FakeTelegram().start();
  const saved = { account: `@${BOT.username}`, token: TOKEN, botId: BOT.id, username: BOT.username!, name: BOT.first_name };
  h = await startHarness({
    script,
    env: { TELEGRAM_API_ROOT: fake.url },
    channels: (config, log) => {
      const channel = new TelegramChannel({ ...telegramOptions(config, saved, log), backoff: { baseMs: 100, maxMs: 400 } });
      channels.push(channel);
      return [channel];
    },
  });
  await until(() => channels.at(-1)!.health().state === 'connected', 10_000, () => 'Telegram connected');
  return fake;
}

const registerFamily = () =>
  h!.app.orchestrator.registerGroup({ channel: 'tg', chatId: 'tg:-100111', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });

const mention = (question: string) => ({ text: `${MENTION} ${question}`, entities: [{ type: 'mention' as const, offset: 0, length: MENTION.length }] });

function sentTo(chatId: number, n: number, timeoutMs = 30_000) {
  return until(() => fake!.sentTo(chatId).length >= n && fake!.sentTo(chatId), timeoutMs, () => `${n} messages to ${chatId}, got ${JSON.stringify(fake!.sent)} (log: ${h?.logFile})`);
}

const settle = () => new Promise((r) => setTimeout(r, 400));

describe('Telegram end to end', () => {
  it('a group message mentioning the bot is answered in the group, as HTML Telegram accepts, typing meanwhile', async () => {
    const fake = await startWithTelegram();
    registerFamily();
    fake.receive(FAMILY, people.bob, { text: 'no trigger, just chatting' });
    fake.receive(FAMILY, people.bob, mention('what do you think?'));
    const [reply] = await sentTo(-100111, 1);
    expect(reply.parseMode).toBe('HTML');
    expect(reply.text).toMatch(/^ECHO: &lt;messages&gt;\n&lt;message sender="Bob" .*just chatting.*\n.*what do you think\?&lt;\/message&gt;\n&lt;\/messages&gt;$/s);
    expect(fake.actions.filter((a) => a.chatId === -100111).map((a) => a.action)).toContain('typing');
    await settle();
    expect(h!.app.store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
  });

  it('a forum topic of a registered group is a conversation of its own, answered in its topic', async () => {
    const fake = await startWithTelegram();
    const project = supergroup(-100222, 'Project', true);
    h!.app.orchestrator.registerGroup({ channel: 'tg', chatId: 'tg:-100222', name: 'Project', folder: 'project', trigger: '@Andy', requiresTrigger: true, isMain: false });
    const created = { message_id: 7, date: 1, chat: project, from: people.bob, message_thread_id: 7, forum_topic_created: { name: 'Budget', icon_color: 1 } };
    fake.receive(project, people.bob, { ...mention('numbers?'), is_topic_message: true, message_thread_id: 7, reply_to_message: created as never });
    const [reply] = await sentTo(-100222, 1);
    expect(reply.threadId).toBe(7);
    expect(reply.text).toMatch(/numbers\?/);
    const parent = h!.app.store.groupByChat('tg:-100222')!;
    expect(h!.app.store.groupByChat('tg:-100222:7')).toMatchObject({ parentId: parent.id, name: 'Project › Budget', workspace: 'project' });
    expect(h!.app.store.recentMessages('tg:-100222', 10)).toEqual([]);
  });

  it('pairing: the owner sends the code in a DM, becomes the owner with that DM as main; a photo in, a file out', async () => {
    const fake = await startWithTelegram((req) => {
      const media = /\/workspace\/group\/media\/[\w.-]+/.exec(req.allUserText.join('\n'))?.[0];
      if (req.isSideRequest || !media) return defaultScript(req);
      const result = req.toolResults[0]?.content ?? '';
      if (!req.toolResults.length) return { content: [toolUse('Bash', { command: `tr a-z A-Z < ${media} > shout.txt`, description: 'read it' })] };
      if (!result.startsWith('Sending')) return { content: [toolUse('mcp__carapace__send_file', { path: 'shout.txt', caption: '**loud** <copy>' })] };
      return { content: [text(`DONE ${media}`)] };
    });
    fake.receive(dmWith(people.eve), people.eve, { text: 'let me in' });
    const code = newPairingCode();
    h!.app.store.issuePairingCode('telegram', code, Date.now() + PAIRING_CODE_TTL_MS);
    fake.receive(dmWith(people.olga), people.olga, { text: code });
    const [paired] = await sentTo(111, 1);
    expect(paired.text).toMatch(/Paired/);
    expect(fake.sentTo(666)).toHaveLength(1); // one refusal for the stranger
    expect(h!.app.store.chatExists('tg:666')).toBe(false);
    expect(h!.app.store.ownerOf('telegram')).toMatchObject({ userId: '111', chatId: 'tg:111' });
    expect(h!.app.store.groupByChat('tg:111')).toMatchObject({ isMain: true });

    const photo = fake.addFile(Buffer.from('a photo of a receipt: total 42 eur'), 'photos/file_9.jpg');
    fake.receive(dmWith(people.olga), people.olga, { photo: [{ file_id: photo, file_unique_id: 'p', width: 9, height: 9, file_size: 34 }], caption: 'what is this?' });
    const sent = await sentTo(111, 3);
    expect(sent[1]).toMatchObject({ method: 'sendDocument', caption: '<b>loud</b> &lt;copy&gt;' });
    expect(sent[1].file).toEqual({ name: 'shout.txt', data: Buffer.from('A PHOTO OF A RECEIPT: TOTAL 42 EUR') });
    expect(sent[2].text).toMatch(/^DONE \/workspace\/group\/media\/\d{4}-\d\d-\d\d-\d+\.jpg$/);
  });

  it('a 429 storm is waited out through retry_after: the reply goes out once', async () => {
    const fake = await startWithTelegram();
    registerFamily();
    fake.rateLimit = { remaining: 3, retryAfter: 1 };
    fake.receive(FAMILY, people.bob, mention('storm?'));
    await sentTo(-100111, 1);
    await settle();
    expect(fake.sentTo(-100111)).toHaveLength(1);
    expect(fake.rateLimit.remaining).toBe(0);
  });

  it('a 409 Conflict stops polling with a clear message in the health and the log', async () => {
    const fake = await startWithTelegram();
    fake.conflict = true;
    fake.receive(FAMILY, people.bob, { text: 'wake the poll' });
    await until(() => channels[0].health().state === 'failed', 10_000);
    const token = new URL(h!.app.chatUrl).hash.replace('#token=', '');
    const res = await fetch(`${h!.app.local.address().url}api/channels`, { headers: { authorization: `Bearer ${token}` } });
    const { telegram } = (await res.json()) as Record<string, ChannelHealth>;
    expect(telegram).toMatchObject({ state: 'failed', mode: 'polling', account: '@carapace_test_bot' });
    expect(telegram.detail).toMatch(/another process is polling this bot \(409 Conflict\)/);
    const polls = fake.calls.filter((c) => c === 'getUpdates').length;
    await settle();
    expect(fake.calls.filter((c) => c === 'getUpdates').length).toBe(polls);
    expect(readFileSync(h!.logFile, 'utf8').match(/another process is polling this bot/g)).toHaveLength(1);
  });

  it('the network goes away mid-run: the reply waits in the outbox and goes out once when Telegram is back', async () => {
    const fake = await startWithTelegram((req) => (req.isSideRequest ? defaultScript(req) : { ...(defaultScript(req) as object), delayMs: 1500 } as never));
    registerFamily();
    fake.receive(FAMILY, people.bob, mention('still there?'));
    await h!.fake.waitForRequests(1);
    await fake.goOffline();
    await until(() => (h!.app.store.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get() as { n: number }).n >= 1, 30_000);
    await settle();
    expect(h!.app.store.db.prepare('SELECT status, attempts FROM outbox').all()).toEqual([{ status: 'pending', attempts: 0 }]);
    expect(fake.sent).toEqual([]);
    await fake.goOnline();
    await sentTo(-100111, 1);
    await settle();
    expect(fake.sentTo(-100111)).toHaveLength(1);
    expect(h!.app.store.db.prepare('SELECT status, attempts FROM outbox').all()).toEqual([{ status: 'sent', attempts: 1 }]);
    const log = readFileSync(h!.logFile, 'utf8');
    expect(log.match(/"state":"offline"/g)).toHaveLength(1);
  });

  it('a restart in the middle of a reply: after it, the question is answered once', async () => {
    let calls = 0;
    const fake = await startWithTelegram((req) => {
      if (req.isSideRequest) return defaultScript(req);
      return calls++ === 0 ? { hang: true } : defaultScript(req);
    });
    registerFamily();
    fake.receive(FAMILY, people.bob, mention('are you back?'));
    await h!.fake.waitForRequests(1);
    await h!.restart();
    await until(() => channels.at(-1)!.health().state === 'connected', 10_000);
    const [reply] = await sentTo(-100111, 1);
    expect(reply.text).toMatch(/are you back\?/);
    await settle();
    expect(fake.sentTo(-100111)).toHaveLength(1);
  });
});
