// The host's side of the bot-channel contract, through the real pipeline (store, queue, bubblewrap sandbox, real
// Agent SDK against the fake model) with an in-process bot channel: owner pairing by one-time code, strangers
// refused once a day and never stored, @mentions as the trigger, threads as conversations of their own in their
// parent's folder, and a chat that refuses the bot reported to main.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { text, toolUse, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { MemoryBot } from './support/memory-bot.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Echoes, except that "NOTE" makes the agent write a file into its working folder. */
const script: Script = (req) => {
  if (req.toolResults.length) return { content: [text('noted')] };
  if (/\bNOTE\b/.test(req.lastUserText)) return { content: [toolUse('Bash', { command: 'echo from-the-thread > thread-note.txt' })] };
  return { content: [text(`ECHO: ${req.lastUserText}`)] };
};

async function start(): Promise<{ h: Harness; bot: MemoryBot }> {
  const bot = new MemoryBot();
  h = await startHarness({ script, channels: () => [bot] });
  return { h, bot };
}

const replyTo = (bot: MemoryBot, chatId: string, n = 1) =>
  until(() => bot.sent.filter((s) => s.chatId === chatId).length >= n && bot.sent.filter((s) => s.chatId === chatId), 30_000, () => `${n} messages to ${chatId}: ${JSON.stringify(bot.sent)}`);

describe('bot channel owners', () => {
  it('a stranger is refused once a day and nothing of theirs is stored; the live code makes its sender the owner and main', async () => {
    const { h, bot } = await start();
    bot.dm('666', 'Mallory', 'hello there');
    bot.dm('666', 'Mallory', 'hello again');
    expect(bot.sent.filter((s) => s.chatId === 'bot:666')).toHaveLength(1);
    expect(bot.sent[0].text).toMatch(/private assistant.*carapace channel pair bot/s);
    expect(h.app.store.chatExists('bot:666')).toBe(false);

    const code = newPairingCode();
    h.app.store.issuePairingCode('bot', code, Date.now() + PAIRING_CODE_TTL_MS);
    bot.dm('666', 'Mallory', 'ZZZZ-ZZZZ'); // a wrong guess is answered, and counted
    expect(bot.sent.at(-1)!.text).toMatch(/not the live one/);
    bot.dm('42', 'Olivia', code.toLowerCase().replace('-', ' '));
    expect(bot.sent.at(-1)).toMatchObject({ chatId: 'bot:42', direct: true });
    expect(bot.sent.at(-1)!.text).toMatch(/Paired.*main chat/s);
    expect(h.app.store.ownerOf('bot')).toMatchObject({ userId: '42', chatId: 'bot:42', name: 'Olivia' });
    expect(h.app.store.groupByChat('bot:42')).toMatchObject({ isMain: true, folder: 'main' });
    expect(h.app.store.groupByChat('local:owner')).toMatchObject({ isMain: false }); // the local chat stays answered

    bot.dm('666', 'Mallory', code); // used up
    expect(h.app.store.ownerOf('bot')!.userId).toBe('42');
    bot.dm('42', 'Olivia', 'what is up');
    const [reply] = (await replyTo(bot, 'bot:42', 2)).filter((s) => !s.direct);
    expect(reply.text).toMatch(/^ECHO: .*what is up/s);
  });

  it('an expired code pairs nobody; ten wrong guesses revoke a live one', async () => {
    const { h, bot } = await start();
    h.app.store.issuePairingCode('bot', 'AAAA-BBBB', Date.now() - 1);
    bot.dm('42', 'Olivia', 'AAAA-BBBB');
    expect(h.app.store.ownerOf('bot')).toBeUndefined();
    h.app.store.issuePairingCode('bot', 'CCCC-DDDD', Date.now() + PAIRING_CODE_TTL_MS);
    for (let i = 0; i < 10; i++) bot.dm('666', 'Mallory', `WXYZ-WX${'23456789'[i % 8]}${'23456789'[(i + 3) % 8]}`);
    bot.dm('42', 'Olivia', 'CCCC-DDDD');
    expect(h.app.store.ownerOf('bot')).toBeUndefined();
  });
});

describe('bot channel groups and threads', () => {
  it('an unregistered group is seen by name only; a registered one wakes on a mention and its threads are conversations of their own in its folder', async () => {
    const { h, bot } = await start();
    bot.inGroup('bot:room', 'u1', 'anyone here?');
    expect(h.app.store.chatById('bot:room')?.name).toBe('Group bot:room');
    expect(h.app.store.recentMessages('bot:room', 10)).toEqual([]);

    h.app.orchestrator.registerGroup({ channel: 'bot', chatId: 'bot:room', name: 'Room', folder: 'room', trigger: '@Andy', requiresTrigger: true, isMain: false });
    bot.inGroup('bot:room', 'u1', 'just chatting');
    bot.inGroup('bot:room', 'u1', '@carapace_bot what time is it', { addressed: true });
    expect((await replyTo(bot, 'bot:room'))[0].text).toContain('what time is it');

    bot.inGroup('bot:room', 'u2', 'NOTE this please', { thread: 't1', addressed: true });
    const [inThread] = await replyTo(bot, 'bot:room:t1');
    expect(inThread.text).toBe('noted');
    const thread = h.app.store.groupByChat('bot:room:t1')!;
    expect(thread).toMatchObject({ workspace: 'room', requiresTrigger: true, name: 'Room › thread t1' });
    expect(thread.folder).not.toBe('room');
    expect(readFileSync(join(h.dataDir, 'groups', 'room', 'thread-note.txt'), 'utf8')).toBe('from-the-thread\n');
    expect(existsSync(join(h.dataDir, 'groups', thread.folder))).toBe(false);
    // Its own session: the room's conversation and the thread's are separate.
    expect(h.app.store.sessionOf(thread.id)).not.toBe(h.app.store.sessionOf(h.app.store.groupByChat('bot:room')!.id));
    // Its model calls count against the chat's budget (a thread does not bring a budget of its own).
    const room = h.app.store.groupByChat('bot:room')!;
    expect(h.app.store.db.prepare('SELECT DISTINCT group_id FROM model_usage').pluck().all()).toEqual([room.id]);
    bot.inGroup('bot:nowhere', 'u1', 'hi', { thread: 't9' });
    expect(h.app.store.groupByChat('bot:nowhere:t9')).toBeUndefined();
  });

  it('a chat that refuses the bot is not retried, and main is told once', async () => {
    const { h, bot } = await start();
    h.app.orchestrator.registerGroup({ channel: 'bot', chatId: 'bot:gone', name: 'Gone', folder: 'gone', trigger: '@Andy', requiresTrigger: false, isMain: false });
    bot.refusing.add('bot:gone');
    bot.inGroup('bot:gone', 'u1', 'first');
    const [notice] = await h.waitForReplies(1);
    expect(notice.text).toMatch(/could not deliver a reply to "Gone" \(bot:gone\): Forbidden: bot was kicked/);
    bot.inGroup('bot:gone', 'u1', 'second');
    await until(() => bot.refused >= 2 && h.app.store.pendingOutbox().length === 0, 30_000, () => 'the second reply was refused');
    expect(h.replies.filter((r) => r.text.includes('could not deliver'))).toHaveLength(1);
  });
});
