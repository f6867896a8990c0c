// The Telegram channel through the real grammY clients against the fake Bot API server, with a recording
// ChannelHost over real folders: inbound translation (mentions, replies, edits, forwards, notes, media), owner
// and stranger DMs, groups and forum topics, replies (HTML, splitting, fallback, files, typing) and the
// connection's failures (429, 403, 409, network loss).
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelUnavailableError, ChatUnreachableError, type ChannelHost, type ChatInfo, type InboundMessage } from '../src/channels/channel.js';
import { TelegramChannel, type TelegramChannelOptions } from '../src/channels/telegram/telegram-channel.js';
import { AgentTree } from '../src/fs/safe-write.js';
import { messageParts, toTelegramHtml } from '../src/channels/telegram/format.js';
import { BOT, dmWith, FakeTelegram, parseHtml, people, supergroup, TOKEN } from './support/fake-telegram.js';
import { until } from './support/wait.js';

const FAMILY = supergroup(-100111, 'Family');
const FORUM = supergroup(-100222, 'Project', true);
const STRANGERS = supergroup(-100333, 'Strangers');

/** A recording ChannelHost over real folders: Olga owns the bot; Family, Project and Olga's DM are registered. */
function testHost(root: string) {
  const registered: Record<string, string> = { 'tg:-100111': 'family', 'tg:-100222': 'project', 'tg:111': 'main' };
  const r = {
    seen: [] as ChatInfo[],
    told: [] as { key: string; text: string }[],
    notices: [] as { chatId: string; text: string }[],
    strangers: [] as { userId: string; text: string }[],
    threads: [] as { parent: string; thread: ChatInfo }[],
    ready: 0,
  };
  const host: ChannelHost = {
    isRegistered: (chatId) => chatId in registered,
    openThread: (parent, thread) => {
      if (!(parent in registered)) return false;
      r.threads.push({ parent, thread });
      registered[thread.chatId] = registered[parent];
      return true;
    },
    owner: () => ({ userId: '111', chatId: 'tg:111', name: 'Olga' }),
    strangerDm: (_channel, sender, _chat, text) => {
      r.strangers.push({ userId: sender.userId, text });
      return { paired: false, reply: r.strangers.length === 1 ? 'Sorry, I only talk to my owner.' : undefined };
    },
    tellMain: (key, text) => r.told.push({ key, text }),
    groupFolder: (chatId) => {
      const folder = registered[chatId];
      if (!folder) return undefined;
      const hostPath = join(root, folder);
      mkdirSync(hostPath, { recursive: true });
      return { sandboxPath: '/workspace/group', save: (rel, data) => void new AgentTree(hostPath).write(rel, data) };
    },
    chatsSeen: (chats) => r.seen.push(...chats),
    notice: (chatId, _key, text) => r.notices.push({ chatId, text }),
    ready: () => r.ready++,
    mainChat: () => undefined,
  };
  return { host, ...r, get readyCount() { return r.ready; } };
}

let channel: TelegramChannel | undefined;
let fake: FakeTelegram | undefined;
afterEach(async () => {
  await channel?.disconnect();
  await fake?.close();
  channel = fake = undefined;
});

async function start(opts: Partial<TelegramChannelOptions> = {}) {
  fake = await new FakeTelegram().start();
  const root = mkdtempSync(join(tmpdir(), 'carapace-tg-'));
  const lines: { msg: string; state?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const received: InboundMessage[] = [];
  const h = testHost(root);
  channel = new TelegramChannel({
    token: TOKEN,
    bot: { id: BOT.id, username: BOT.username! },
    apiRoot: fake.url,
    maxMediaBytes: 64 * 1024,
    log,
    backoff: { baseMs: 40, maxMs: 200 },
    throttle: { group: { maxConcurrent: 1 }, out: { maxConcurrent: 1 } },
    ...opts,
  });
  await channel.connect((m) => received.push(m), h.host);
  await until(() => channel!.health().state === 'connected', 5_000, () => `connected, got ${JSON.stringify(channel!.health())}`);
  return { fake, root, received, lines, ch: channel, h };
}

describe('Telegram inbound', () => {
  it('hands over registered groups only, with mentions, replies, forwards and edits as the agent should read them', async () => {
    const { fake, received, h } = await start();
    expect(fake.calls.slice(0, 2)).toEqual(['deleteWebhook', 'getUpdates']);
    fake.receive(STRANGERS, people.bob, { text: 'hello strangers' });
    fake.receive(FAMILY, people.bob, { text: 'just chatting' });
    fake.receive(FAMILY, people.bob, { text: 'hey @Carapace_Test_Bot look', entities: [{ type: 'mention', offset: 4, length: 18 }] });
    const botMessage = { message_id: 5, date: 1, chat: FAMILY, from: BOT, text: 'an earlier answer from me' };
    fake.receive(FAMILY, people.bob, { text: 'why?', reply_to_message: botMessage as never });
    fake.receive(FAMILY, people.bob, { text: 'see this', forward_origin: { type: 'user', date: 1, sender_user: people.eve } });
    const edited = fake.receive(FAMILY, people.bob, { text: 'typo fixed', edit_date: 1_700_000_000 }, 'edited_message');
    await until(() => received.length >= 5 && received, 5_000, () => JSON.stringify(received));
    expect(h.seen).toEqual([{ chatId: 'tg:-100333', name: 'Strangers', isGroup: true }]);
    expect(received.map((m) => [m.chatId, m.senderName, m.text, m.addressed])).toEqual([
      ['tg:-100111', 'Bob', 'just chatting', undefined],
      ['tg:-100111', 'Bob', 'hey @Carapace_Test_Bot look', true],
      ['tg:-100111', 'Bob', '[reply to Carapace: "an earlier answer from me"]\nwhy?', true],
      ['tg:-100111', 'Bob', '[forwarded from Eve]\nsee this', undefined],
      ['tg:-100111', 'Bob', '[edited] typo fixed', undefined],
    ]);
    expect(received[4].platformId).toBe(`${edited.message_id}:edit:1700000000`);
  });

  it('turns stickers, locations, contacts and polls into short notes', async () => {
    const { fake, received } = await start();
    fake.receive(FAMILY, people.bob, { sticker: { emoji: '👍' } as never });
    fake.receive(FAMILY, people.bob, { location: { latitude: 52.5, longitude: 13.4 } });
    fake.receive(FAMILY, people.bob, { contact: { first_name: 'Ann', last_name: 'Lee', phone_number: '+4915' } });
    fake.receive(FAMILY, people.bob, { poll: { question: 'Lunch?', options: [{ text: 'yes' }, { text: 'no' }] } as never });
    await until(() => received.length >= 4, 5_000);
    expect(received.map((m) => m.text)).toEqual(['[sticker 👍]', '[location: 52.5, 13.4]', '[contact: Ann Lee, +4915]', '[poll: Lunch? — yes / no]']);
  });

  it("the owner's DM is handed over; a stranger's goes to the pairing check, is answered directly and never stored", async () => {
    const { fake, received, h } = await start();
    fake.receive(dmWith(people.eve), people.eve, { text: 'let me in' });
    fake.receive(dmWith(people.eve), people.eve, { text: 'please' });
    fake.receive(dmWith(people.olga), people.olga, { text: 'hi, it is me' });
    await until(() => received.length >= 1, 5_000);
    expect(received.map((m) => [m.chatId, m.senderId, m.text])).toEqual([['tg:111', '111', 'hi, it is me']]);
    expect(h.strangers).toEqual([{ userId: '666', text: 'let me in' }, { userId: '666', text: 'please' }]);
    expect(fake.sentTo(666).map((s) => s.text)).toEqual(['Sorry, I only talk to my owner.']);
  });

  it('a forum topic is a thread of its chat; replies to it go into the topic', async () => {
    const { fake, received, h, ch } = await start();
    const created = { message_id: 7, date: 1, chat: FORUM, from: people.bob, message_thread_id: 7, forum_topic_created: { name: 'Budget', icon_color: 1 } };
    fake.receive(FORUM, people.bob, { text: 'numbers?', is_topic_message: true, message_thread_id: 7, reply_to_message: created as never });
    await until(() => received.length >= 1, 5_000);
    expect(h.threads).toEqual([{ parent: 'tg:-100222', thread: { chatId: 'tg:-100222:7', name: 'Budget', isGroup: true } }]);
    expect(received[0]).toMatchObject({ chatId: 'tg:-100222:7', text: 'numbers?' });
    await ch.setTyping('tg:-100222:7', true);
    await ch.send('tg:-100222:7', 'here');
    await ch.setTyping('tg:-100222:7', false);
    expect(fake.sentTo(-100222)).toMatchObject([{ threadId: 7, text: 'here' }]);
    expect(fake.actions).toEqual([{ chatId: -100222, action: 'typing', threadId: 7 }]);
  });

  it('being added to a group tells main and lists the group; being removed tells main too', async () => {
    const { fake, h } = await start();
    const member = (status: string) => ({ status, user: BOT });
    fake.push({ my_chat_member: { chat: STRANGERS, from: people.bob, date: 100, old_chat_member: member('left'), new_chat_member: member('member') } as never });
    fake.push({ my_chat_member: { chat: STRANGERS, from: people.bob, date: 200, old_chat_member: member('member'), new_chat_member: member('kicked') } as never });
    await until(() => h.told.length >= 2, 5_000);
    expect(h.told.map((t) => t.text)).toEqual([
      'I was added to Strangers (tg:-100333); register it from here to use me there',
      'I was removed from Strangers (tg:-100333); replies to it cannot be delivered',
    ]);
    expect(h.seen).toEqual([{ chatId: 'tg:-100333', name: 'Strangers', isGroup: true }]);
  });
});

describe('Telegram media', () => {
  it('a photo is saved in the group folder under media/ and referenced by its sandbox path; a caption follows', async () => {
    const { fake, received, root } = await start();
    const fileId = fake.addFile(Buffer.from('jpeg bytes'), 'photos/file_1.jpg');
    const doc = fake.addFile(Buffer.from('%PDF'), 'documents/file_2.pdf');
    fake.receive(FAMILY, people.bob, { photo: [{ file_id: fileId, file_unique_id: 'u1', width: 90, height: 90, file_size: 10 }], caption: 'receipt' });
    fake.receive(FAMILY, people.bob, { document: { file_id: doc, file_unique_id: 'u2', file_name: '../../etc/Report 2024.pdf' } });
    await until(() => received.length >= 2, 5_000);
    const [photo, pdf] = received;
    const photoPath = /\/workspace\/group\/media\/(\d{4}-\d\d-\d\d-\d+\.jpg)/.exec(photo.text)!;
    expect(photo.text).toBe(`[photo: ${photoPath[0]}]\nreceipt`);
    expect(readFileSync(join(root, 'family', 'media', photoPath[1]), 'utf8')).toBe('jpeg bytes');
    expect(pdf.text).toMatch(/^\[document: \/workspace\/group\/media\/\d{4}-\d\d-\d\d-\d+-etc_Report_2024\.pdf\]$/);
  });

  it('too large a file is refused before downloading; a media/ the agent made a link is refused and told', async () => {
    const { fake, received, root, h } = await start();
    const big = fake.addFile(Buffer.alloc(100 * 1024), 'videos/big.mp4');
    fake.receive(FAMILY, people.bob, { video: { file_id: big, file_unique_id: 'v', width: 1, height: 1, duration: 1, file_size: 100 * 1024 } });
    await until(() => received.length >= 1, 5_000);
    expect(received[0].text).toBe('[video too large to download (0.10 MB; the limit is 0.06 MB)]');
    expect(fake.calls).not.toContain('getFile');
    mkdirSync(join(root, 'family'), { recursive: true });
    symlinkSync('/tmp', join(root, 'family', 'media'));
    const small = fake.addFile(Buffer.from('ogg'), 'voice/v.oga');
    fake.receive(FAMILY, people.bob, { voice: { file_id: small, file_unique_id: 'w', duration: 1 } });
    await until(() => received.length >= 2, 5_000);
    expect(received[1].text).toMatch(/^\[voice could not be saved: .*media.*\]$/);
    expect(h.notices).toEqual([{ chatId: 'tg:-100111', text: expect.stringMatching(/^Your voice could not be saved/) }]);
  });
});

describe('Telegram HTML', () => {
  // Markdown an agent might write, and text that must show as written.
  const hostile: [string, string][] = [
    ['a < b && c > d', 'a < b && c > d'],
    ['<script>alert(1)</script> <b>unclosed', '<script>alert(1)</script> <b>unclosed'],
    ['**bold *nested italic* still bold** ~~gone~~ `x < y`', 'bold nested italic still bold gone x < y'],
    ['```html\n<div class="a">&amp;</div>\n```', '<div class="a">&amp;</div>'],
    ['> quoted <tag>\n> second line & more', 'quoted <tag>\nsecond line & more'],
    ['[label](javascript:alert(1)) and [ok](https://example.org/?c=<d>&e="f")', 'label (javascript:alert(1)) and ok'],
    ['# Heading with <angle>\n\n| a | b |\n| --- | --- |\n| <x> | & |', '<x> | &'],
    ['&lt; already escaped &amp; stays literal', '&lt; already escaped &amp; stays literal'],
    ['*unbalanced **markup_ `here', '*unbalanced **markup_ `here'],
  ];
  it.each(hostile)('%j renders to HTML Telegram accepts, showing what the author wrote', (markdown, shown) => {
    const parsed = parseHtml(toTelegramHtml(markdown));
    expect(parsed).not.toHaveProperty('error');
    expect((parsed as { text: string }).text).toContain(shown);
  });

  it('keeps a code block whole in each part when a long reply is split, and every part parses', () => {
    const code = Array.from({ length: 300 }, (_, i) => `line ${i} <${i}> & more`).join('\n');
    const parts = messageParts(`intro\n\n\`\`\`\n${code}\n\`\`\`\n\noutro`);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      const parsed = parseHtml(part.html);
      expect(parsed).not.toHaveProperty('error');
      expect((parsed as { text: string }).text.length).toBeLessThanOrEqual(4096);
    }
    expect(parts.map((p) => p.html).join('')).toContain('line 299 &lt;299&gt; &amp; more');
  });
});

describe('Telegram replies', () => {
  it('renders Markdown to Telegram HTML that Telegram accepts, whatever the text contains', async () => {
    const { fake, ch } = await start();
    await ch.send('tg:-100111', '**bold** and `a<b && c>d` and <i>not a tag</i> & [a link](https://x.org/?a=1&b="2")', { sender: 'Researcher' });
    const [sent] = fake.sentTo(-100111);
    expect(sent.parseMode).toBe('HTML');
    expect(sent.text).toBe(
      '<b>Researcher:</b> <b>bold</b> and <code>a&lt;b &amp;&amp; c&gt;d</code> and &lt;i&gt;not a tag&lt;/i&gt; &amp; <a href="https://x.org/?a=1&amp;b=&quot;2&quot;">a link</a>',
    );
  });

  it('splits long replies under 4,096 characters and falls back to plain text when Telegram refuses the HTML', async () => {
    const { fake, ch, lines } = await start();
    const paragraph = 'word '.repeat(300).trim();
    await ch.send('tg:111', Array.from({ length: 6 }, () => paragraph).join('\n\n'));
    const parts = fake.sentTo(111);
    expect(parts.length).toBe(3);
    expect(parts.every((p) => p.text!.length <= 4096 && p.parseMode === 'HTML')).toBe(true);
    // A table rendered as a padded grid outgrows the limit though its Markdown does not: Telegram says too long.
    const table = ['| name | note |', '| --- | --- |', `| ${'x'.repeat(80)} | y |`, ...Array.from({ length: 60 }, (_, i) => `| r${i} | z |`)].join('\n');
    await ch.send('tg:111', table);
    const last = fake.sentTo(111).at(-1)!;
    expect(last.parseMode).toBeUndefined();
    expect(last.text).toBe(table);
    expect(lines.some((l) => l.msg === 'telegram refused our HTML; sent as plain text')).toBe(true);
  });

  it('sends images as photos and other files as documents, captions rendered', async () => {
    const { fake, ch, root } = await start();
    writeFileSync(join(root, 'chart.png'), 'png bytes');
    writeFileSync(join(root, 'notes.txt'), 'plain notes');
    await ch.sendFile('tg:-100111', { path: join(root, 'chart.png'), fileName: 'chart.png', caption: '**Q3** <draft>' });
    await ch.sendFile('tg:-100111', { path: join(root, 'notes.txt'), fileName: 'notes.txt' });
    expect(fake.sentTo(-100111).map((s) => [s.method, s.file?.name, s.file?.data.toString(), s.caption])).toEqual([
      ['sendPhoto', 'chart.png', 'png bytes', '<b>Q3</b> &lt;draft&gt;'],
      ['sendDocument', 'notes.txt', 'plain notes', undefined],
    ]);
  });

  it('waits out a 429 storm through retry_after and sends once; a 403 makes the chat unreachable', async () => {
    const { fake, ch } = await start();
    fake.rateLimit = { remaining: 2, retryAfter: 1 };
    const began = Date.now();
    await ch.send('tg:-100111', 'after the storm');
    expect(Date.now() - began).toBeGreaterThanOrEqual(1900);
    expect(fake.sentTo(-100111).map((s) => s.text)).toEqual(['after the storm']);
    fake.blocked.add(-100111);
    await expect(ch.send('tg:-100111', 'anyone?')).rejects.toBeInstanceOf(ChatUnreachableError);
  });
});

describe('Telegram connection', () => {
  it('a 409 Conflict stops polling with a clear message instead of fighting the other process', async () => {
    const { fake, ch, lines } = await start();
    fake.conflict = true;
    fake.receive(FAMILY, people.bob, { text: 'wake the poll' });
    await until(() => ch.health().state === 'failed', 5_000);
    expect(ch.health().detail).toMatch(/another process is polling this bot \(409 Conflict\)/);
    const polls = fake.calls.filter((c) => c === 'getUpdates').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.calls.filter((c) => c === 'getUpdates').length).toBe(polls);
    expect(lines.filter((l) => l.state === 'failed')).toHaveLength(1);
  });

  it('network loss is reported once, sends wait, and the channel says ready once when Telegram is back', async () => {
    const { fake, ch, h, lines } = await start();
    const readyBefore = h.readyCount;
    await fake.goOffline();
    await until(() => ch.health().state === 'offline', 5_000);
    await expect(ch.send('tg:111', 'queued')).rejects.toBeInstanceOf(ChannelUnavailableError);
    await new Promise((r) => setTimeout(r, 600)); // several retries at the 200 ms cap
    expect(lines.filter((l) => l.state === 'offline')).toHaveLength(1);
    await fake.goOnline();
    await until(() => ch.health().state === 'connected', 5_000);
    expect(h.readyCount).toBe(readyBefore + 1);
    await ch.send('tg:111', 'queued');
    expect(fake.sentTo(111).map((s) => s.text)).toEqual(['queued']);
  });
});

describe('Telegram revoked token', () => {
  it('a 401 stops polling and says to set the bot up again; replies wait instead of failing', async () => {
    fake = await new FakeTelegram().start();
    const received: InboundMessage[] = [];
    channel = new TelegramChannel({ token: '7000001:AARevokedRevokedRevokedRevoked', bot: { id: BOT.id, username: BOT.username! }, apiRoot: fake.url, maxMediaBytes: 1024, log: pino({ level: 'silent' }) });
    await channel.connect((m) => received.push(m), testHost(mkdtempSync(join(tmpdir(), 'carapace-tg-'))).host);
    await until(() => channel!.health().state === 'failed', 5_000);
    expect(channel.health().detail).toMatch(/401 Unauthorized.*carapace channel add telegram/);
    await expect(channel.send('tg:111', 'hello')).rejects.toBeInstanceOf(ChannelUnavailableError);
    expect(fake.sent).toEqual([]);
  });
});

describe('Telegram webhook mode', () => {
  const freePort = () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });

  it('sets the webhook with a secret, takes updates Telegram posts with it, and refuses posts without it', async () => {
    const port = await freePort();
    const webhook = { url: `http://127.0.0.1:${port}/tg-hook`, port, secret: 's3cret-s3cret' };
    const { fake, received, ch } = await start({ webhook });
    expect(fake.webhook).toEqual({ url: webhook.url, secret: webhook.secret });
    expect(ch.health()).toMatchObject({ state: 'connected', mode: 'webhook' });
    expect(fake.calls).not.toContain('getUpdates');
    fake.receive(FAMILY, people.bob, { text: 'by webhook' });
    await until(() => received.length >= 1, 5_000);
    expect(received[0]).toMatchObject({ chatId: 'tg:-100111', text: 'by webhook' });
    const forged = { update_id: 99, message: { message_id: 1, date: 1, chat: FAMILY, from: people.eve, text: 'forged' } } as never;
    expect(await fake.post({ url: webhook.url, secret: 'wrong' }, forged)).toBe(401);
    expect(await fake.post({ url: webhook.url }, forged)).toBe(401);
    expect(received.map((m) => m.text)).toEqual(['by webhook']);
  });
});
