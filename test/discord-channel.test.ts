// The Discord channel against the fake Discord at the wire: the real discord.js client connects to the fake
// gateway, and what it does reaches a hand-written host.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatUnreachableError } from '../src/channels/channel.js';
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { BOT, FakeDiscord, guildPayload, message, threadPayload, TOKEN, type FakeUser } from './support/fake-discord.js';
import { RecordingHost } from './support/discord-host.js';
import { until } from './support/wait.js';

const GUILD = '700000000000000001';
const GENERAL = '710000000000000001';
const RANDOM = '710000000000000002';
const DM = '720000000000000001';
const BOB: FakeUser = { id: '800000000000000002', username: 'bob', global_name: 'Bob' };
const OLGA: FakeUser = { id: '800000000000000001', username: 'olga', global_name: 'Olga' };

let fake: FakeDiscord;
let warnings: string[] = [];
let channel: DiscordChannel | undefined;
afterEach(async () => {
  await channel?.disconnect();
  channel = undefined;
  warnings = [];
  await fake?.close();
});

async function start(token = TOKEN, prepare?: (f: FakeDiscord) => void, port = 0) {
  fake = await new FakeDiscord().start(port);
  fake.guilds = [{ id: GUILD, name: 'Home', channels: [{ id: GENERAL, name: 'general' }, { id: RANDOM, name: 'random' }] }];
  prepare?.(fake);
  const host = new RecordingHost();
  host.registered.add(`dc:${GENERAL}`);
  channel = new DiscordChannel({ token, account: '@carapace', applicationId: BOT.id, apiUrl: fake.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }), typingRefreshMs: 100, retryBaseMs: 50 });
  await channel.connect(host.sink, host);
  return host;
}

const connected = () => until(() => channel!.health().state === 'connected', 10_000, () => `connected, health ${JSON.stringify(channel!.health())}`);

function say(content: string, opts: { channel?: string; author?: FakeUser; mentions?: FakeUser[]; referenced?: Record<string, unknown>; attachments?: unknown[]; embeds?: unknown[]; dm?: boolean; channel_type?: number } = {}) {
  const id = fake.snowflake();
  const payload = message({ id, channel_id: opts.channel ?? GENERAL, guild_id: opts.dm ? undefined : GUILD, author: opts.author ?? BOB, content, ...opts });
  fake.dispatch('MESSAGE_CREATE', payload);
  return payload;
}

describe('Discord channel at the wire', () => {
  it('connects through the gateway, lists the guild channels, and hands over only registered channels', async () => {
    const host = await start();
    await connected();
    expect(channel!.health()).toMatchObject({ state: 'connected', mode: 'gateway', account: '@carapace', detail: 'connected to the gateway as @carapace in 1 server' });
    expect(fake.identifies[0]).toBe(1 | (1 << 9) | (1 << 12) | (1 << 15)); // Guilds, GuildMessages, DirectMessages, MessageContent
    expect(host.seen).toEqual(expect.arrayContaining([{ chatId: `dc:${RANDOM}`, name: 'Home #random', isGroup: true }]));
    expect(host.readies).toBe(1);
    say('in random, not registered', { channel: RANDOM });
    say(`<@${BOT.id}> what is up, <@${OLGA.id}>?`, { mentions: [BOT, OLGA] });
    const [m] = await until(() => host.inbound.length >= 1 && host.inbound);
    expect(m).toMatchObject({ chatId: `dc:${GENERAL}`, senderName: 'Bob', text: '@Andy what is up, @Olga?', addressed: true, chatName: 'general' });
    const bot = message({ id: '1', channel_id: GENERAL, author: BOT, content: 'earlier answer' });
    say('and this?', { referenced: bot });
    say('just chatting **here**', { embeds: [{ title: 'A link', description: 'preview', url: 'https://example.org', fields: [] }] });
    say('a bot replying to the bot', { referenced: bot, author: { id: '800000000000000099', username: 'otherbot', bot: true } });
    await until(() => host.inbound.length >= 4);
    expect(host.inbound[1]).toMatchObject({ text: 'and this?', addressed: true });
    expect(host.inbound[3]).toMatchObject({ text: 'a bot replying to the bot', addressed: false });
    expect(host.inbound[2]).toMatchObject({ text: 'just chatting **here**\n[embed: A link — preview (https://example.org)]', addressed: false });
    expect(host.inbound.some((i) => i.chatId === `dc:${RANDOM}`)).toBe(false);
  });

  it('a mention in a thread of a registered channel opens the thread, and the reply goes to the thread', async () => {
    const host = await start();
    await connected();
    const thread = '730000000000000001';
    fake.dispatch('THREAD_CREATE', { ...threadPayload(GUILD, { id: thread, name: 'plans', parent_id: GENERAL }), newly_created: true });
    say('no mention in the thread', { channel: thread, channel_type: 11 });
    say(`<@${BOT.id}> plan it`, { channel: thread, mentions: [BOT], channel_type: 11 });
    await until(() => host.inbound.length >= 1);
    expect(host.threads).toEqual([[`dc:${GENERAL}`, { chatId: `dc:${thread}`, name: 'plans', isGroup: true }]]);
    expect(host.inbound.map((m) => [m.chatId, m.text])).toEqual([[`dc:${thread}`, '@Andy plan it']]);
    await channel!.send(`dc:${thread}`, 'on it');
    expect(fake.sent.at(-1)).toMatchObject({ channelId: thread, content: 'on it' });
  });

  it('a stranger DM goes only to the pairing check; the code makes them owner, then their DMs are handed over', async () => {
    const host = await start();
    await connected();
    say('hello?', { channel: DM, author: OLGA, dm: true });
    await until(() => fake.texts(DM).length >= 1);
    say('PAIR-1234', { channel: DM, author: OLGA, dm: true });
    await until(() => fake.texts(DM).length >= 2);
    expect(fake.texts(DM)).toEqual(['This is a private assistant.', 'Paired: you are the owner now.']);
    expect(host.inbound).toEqual([]);
    say('now me', { channel: DM, author: OLGA, dm: true });
    await until(() => host.inbound.length >= 1);
    expect(host.inbound[0]).toMatchObject({ chatId: `dc:${DM}`, text: 'now me', senderId: OLGA.id });
  });

  it('a long reply is split under 2,000 characters with its code block closed and reopened; no pings; nonces make a re-send a no-op', async () => {
    await start();
    await connected();
    const code = Array.from({ length: 60 }, (_, i) => `const line${i} = ${i}; // some code here`).join('\n');
    const reply = `@everyone look:\n\n${'A paragraph of prose. '.repeat(70)}\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    expect(reply.length).toBeGreaterThan(3500);
    const key = 'outbox-1-123';
    await channel!.send(`dc:${GENERAL}`, reply, { key, sender: 'Researcher' });
    const parts = fake.texts(GENERAL);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(parts[0]).toMatch(/^\*\*Researcher:\*\* @everyone look:/);
    expect(parts.join('\n')).toContain('const line59 = 59;');
    expect(fake.sent.every((m) => JSON.stringify(m.allowedMentions) === '{"parse":[]}')).toBe(true);
    await channel!.send(`dc:${GENERAL}`, reply, { key, sender: 'Researcher' });
    expect(fake.texts(GENERAL)).toEqual(parts);
  });

  it('a rate-limited send waits out the 429 and goes once', async () => {
    await start();
    await connected();
    fake.rateLimitNext = 1;
    const started = Date.now();
    await channel!.send(`dc:${GENERAL}`, 'after the limit');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(fake.texts(GENERAL)).toEqual(['after the limit']);
  });

  it('a channel the bot lost access to is unreachable (50001)', async () => {
    await start();
    await connected();
    fake.forbidden.add(RANDOM);
    await expect(channel!.send(`dc:${RANDOM}`, 'hi')).rejects.toBeInstanceOf(ChatUnreachableError);
  });

  it('a dropped gateway resumes: what was dispatched meanwhile arrives once', async () => {
    const host = await start();
    await connected();
    say('before');
    await until(() => host.inbound.length >= 1);
    fake.drop();
    say('while away'); // queued in the session, replayed on RESUME
    await until(() => fake.resumes.length >= 1 && fake.connected, 10_000, () => 'a RESUME');
    say('after');
    await until(() => host.inbound.length >= 3);
    expect(host.inbound.map((m) => m.text)).toEqual(['before', 'while away', 'after']);
    expect(fake.identifies.length).toBe(1);
    fake.requestReconnect();
    await until(() => fake.resumes.length >= 2 && fake.connected, 10_000, () => 'a second RESUME after opcode 7');
    fake.invalidateSession();
    await until(() => fake.identifies.length >= 2 && fake.connected, 10_000, () => 'a new IDENTIFY after opcode 9');
    await connected();
  });

  it('a session invalidated right after it resumed identifies afresh and keeps running', async () => {
    const host = await start();
    await connected();
    fake.invalidateAfterResume = true;
    fake.drop();
    await until(() => fake.identifies.length >= 2 && fake.connected, 10_000, () => 'a new IDENTIFY after RESUMED + opcode 9');
    await connected();
    say('still here');
    await until(() => host.inbound.length >= 1);
    expect(host.inbound.map((m) => m.text)).toEqual(['still here']);
    expect(warnings.join('')).toContain('handling a gateway packet failed'); // discord.js's RESUMED handler threw
  });

  it('an outage too long to resume: the new session fetches what was said meanwhile, once', async () => {
    const host = await start();
    await connected();
    say('before the outage');
    await until(() => host.inbound.length >= 1);
    fake.gatewayDown = true;
    fake.drop();
    await until(() => channel!.health().state === 'offline', 10_000, () => 'the drop noticed');
    expect(channel!.health().detail).toMatch(/gateway connection lost at \d\d:\d\d UTC, reconnecting/);
    // Said while the bot was away: Discord will not replay it on a new session.
    const missed = message({ id: fake.snowflake(), channel_id: GENERAL, guild_id: GUILD, author: BOB, content: 'said during the outage' });
    fake.remember(missed);
    say('in random during the outage', { channel: RANDOM });
    // The resume fails on the network, so the session is given up; the next attempt identifies afresh.
    await until(() => fake.refused >= 2, 10_000, () => 'a refused resume and a refused reconnect');
    fake.gatewayDown = false;
    await until(() => fake.identifies.length >= 2 && host.inbound.length >= 2, 15_000, () => `a fresh session and the missed message, got ${JSON.stringify(host.inbound.map((m) => m.text))}`);
    expect(host.inbound.map((m) => m.text)).toEqual(['before the outage', 'said during the outage']);
  });

  it('connect() does not wait for Discord: unreachable it is offline and retries; new servers and channels are told', async () => {
    const host = await start();
    const port = Number(new URL(fake.url).port);
    await channel!.disconnect();
    await fake.close();
    channel = new DiscordChannel({ token: TOKEN, account: '@carapace', applicationId: BOT.id, apiUrl: fake.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log: pino({ level: 'silent' }), retryBaseMs: 50 });
    await channel.connect(host.sink, host);
    await until(() => channel!.health().state === 'offline', 10_000, () => `offline, got ${JSON.stringify(channel!.health())}`);
    expect(channel!.health().detail).toMatch(/cannot reach Discord .*retrying in/);
    const before = host.readies;
    fake = await new FakeDiscord().start(port);
    fake.guilds = [{ id: GUILD, name: 'Home', channels: [{ id: GENERAL, name: 'general' }] }];
    await connected();
    expect(host.readies).toBe(before + 1);
    fake.dispatch('GUILD_CREATE', guildPayload({ id: '700000000000000009', name: 'Club', channels: [{ id: '710000000000000009', name: 'lobby' }] }));
    fake.dispatch('CHANNEL_CREATE', { id: '710000000000000010', type: 0, name: 'news', guild_id: GUILD, position: 1, permission_overwrites: [] });
    await until(() => host.told.length >= 1 && host.seen.some((c) => c.name === 'Home #news'));
    expect(host.told[0]).toEqual(['dc-added-700000000000000009', expect.stringMatching(/added to the Discord server Club/)]);
    expect(host.seen).toEqual(expect.arrayContaining([{ chatId: 'dc:710000000000000009', name: 'Club #lobby', isGroup: true }]));
  });

  it('disconnecting while a gateway handshake hangs leaves no socket to fail later', async () => {
    await start(TOKEN, (f) => (f.hangUpgrades = true));
    await until(() => fake.hangingCount > 0, 10_000, () => 'a hanging handshake');
    await channel!.disconnect();
    channel = undefined;
    await fake.close(); // resets the abandoned socket: an uncaught error here would fail the run
    await new Promise((r) => setImmediate(r));
  });

  it('a refused token (4004) or intent (4014) fails the connection with what to change in the portal', async () => {
    await start('wrong-token');
    // REST refuses a wrong token before the gateway is tried.
    await until(() => channel!.health().state === 'failed');
    expect(channel!.health().detail).toMatch(/rejected the bot token .*developers\/applications\/.*\/bot/);
    await channel!.disconnect();
    await fake.close();
    await start(TOKEN, (f) => (f.messageContentIntent = false));
    await until(() => channel!.health().state === 'failed');
    expect(channel!.health().detail).toMatch(/Message Content Intent.*Privileged Gateway Intents/);
    await channel!.disconnect();
    await fake.close();
    await start(TOKEN, (f) => (f.gatewayRejectsToken = true));
    await until(() => channel!.health().state === 'failed');
    expect(channel!.health().detail).toMatch(/close 4004.*reset it at/);
    await expect(channel!.send(`dc:${GENERAL}`, 'hi')).rejects.toThrow(/not connected/);
  });

  it('attachments are saved under media/ (capped), typing repeats, edits come in marked', async () => {
    const host = await start();
    await connected();
    const small = fake.attachment('notes.txt', Buffer.from('hello file'), 'text/plain');
    const big = fake.attachment('big.png', Buffer.alloc(4096), 'image/png');
    const elsewhere = { ...fake.attachment('x.txt', Buffer.from('x'), 'text/plain'), url: 'http://169.254.169.254/latest/meta-data' };
    const m = say('two files', { attachments: [small, big] });
    say('from elsewhere', { attachments: [elsewhere] });
    await until(() => host.inbound.length >= 2);
    // In the order sent, though the first waited for a download.
    expect(host.inbound[1].text).toBe('from elsewhere\n[file x.txt: could not be downloaded: not from Discord (169.254.169.254)]');
    host.inbound.splice(1, 1);
    const [saved] = [...host.saved.keys()];
    expect(host.saved.get(saved)?.toString()).toBe('hello file');
    expect(host.inbound[0].text).toBe(`two files\n[file: /workspace/group/${saved}]\n[image big.png: too large to download (0.00 MB; the limit is 0.00 MB)]`);
    fake.dispatch('MESSAGE_UPDATE', { ...m, content: 'two files, edited', edited_timestamp: new Date().toISOString() });
    await until(() => host.inbound.length >= 2);
    expect(host.inbound[1]).toMatchObject({ text: '[edited] two files, edited', platformId: expect.stringMatching(new RegExp(`^${m.id}:edit:`)) });
    await channel!.setTyping(`dc:${GENERAL}`, true);
    await until(() => fake.typing.length >= 3);
    await channel!.setTyping(`dc:${GENERAL}`, false);
  });
});
