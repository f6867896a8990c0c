// The WhatsApp channel driven through a fake socket with Baileys' own message shapes: inbound translation (text,
// captions, media saved into the right group folder, quotes, LIDs, notes for unsupported content), the shared-
// number and own-number modes, outbound formatting/splitting/signing, files, rate limiting, typing, group sync.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChannelUnavailableError, type ChannelHost, type ChatInfo, type InboundMessage } from '../src/channels/channel.js';
import { messageIdFor } from '../src/channels/whatsapp/outbound.js';
import { AgentTree } from '../src/fs/safe-write.js';
import { WhatsAppChannel, type WhatsAppChannelOptions } from '../src/channels/whatsapp/whatsapp-channel.js';
import { closeError, FakeMediaCdn, FakeWhatsApp, groupMetadata, OWNER_PN, waMessage } from './support/fake-whatsapp.js';
import { until } from './support/wait.js';

const silent = pino({ level: 'silent' });
const FAMILY = '120363000000000001@g.us';
const WORK = '120363000000000002@g.us';
const BOB = '4915100000002@s.whatsapp.net';
const BOB_LID = '88800000002@lid';
const SELF = `${OWNER_PN}@s.whatsapp.net`;

/** Every file under `dir` except the WhatsApp login's own. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (relative(base, path) === 'whatsapp') return [];
    return statSync(path).isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

/** A recording ChannelHost over real folders: chats registered here get a folder under root/groups. */
function testHost(root: string, registered: Record<string, string>) {
  const seen: ChatInfo[] = [];
  const mains: ChatInfo[] = [];
  const notices: { chatId: string; key: string; text: string }[] = [];
  const state = { ready: 0 };
  const host: ChannelHost = {
    groupFolder: (chatId) => {
      const folder = registered[chatId];
      if (!folder) return undefined;
      const hostPath = join(root, 'groups', folder);
      mkdirSync(hostPath, { recursive: true });
      return { sandboxPath: '/workspace/group', save: (rel, data) => void new AgentTree(hostPath).write(rel, data) };
    },
    chatsSeen: (chats) => seen.push(...chats),
    notice: (chatId, key, text) => notices.push({ chatId, key, text }),
    ready: () => state.ready++,
    mainChat: (chat) => mains.push(chat),
  };
  return { host, seen, mains, notices, state };
}


let channel: WhatsAppChannel | undefined;
afterEach(async () => {
  await channel?.disconnect();
  channel = undefined;
  vi.useRealTimers();
});

async function start(opts: Partial<WhatsAppChannelOptions> = {}, registered: Record<string, string> = {}) {
  const wa = new FakeWhatsApp();
  wa.groups = [groupMetadata(FAMILY, 'Family', [BOB]), groupMetadata(WORK, 'Work')];
  const root = mkdtempSync(join(tmpdir(), 'carapace-wa-ch-'));
  const received: InboundMessage[] = [];
  const h = testHost(root, { [`wa:${FAMILY}`]: 'family', [`wa:${WORK}`]: 'work', [`wa:${SELF}`]: 'main', ...registered });
  channel = new WhatsAppChannel({
    authDir: join(root, 'whatsapp', 'auth'),
    lockFile: join(root, 'whatsapp', 'login.lock'),
    assistantName: 'Andy',
    ownNumber: false,
    mainChat: 'self',
    maxMediaBytes: 64 * 1024,
    sendPerMinute: 6000,
    sendBurst: 100,
    log: silent,
    factory: wa.factory,
    ...opts,
  });
  await channel.connect((m) => received.push(m), h.host);
  if (!vi.isFakeTimers()) await until(() => channel!.status().status === 'open');
  return { wa, root, received, ch: channel, ...h };
}

describe('WhatsApp inbound', () => {
  const cdn = new FakeMediaCdn();
  beforeAll(() => cdn.start());
  afterAll(() => cdn.close());

  it('a group text from a LID participant: phone-number sender, push name, group name from the metadata sync', async () => {
    const { wa, received, seen } = await start();
    await until(() => seen.some((c) => c.name === 'Family'));
    wa.receive([waMessage({ chat: FAMILY, from: BOB_LID, fromAlt: BOB, pushName: 'Bob', message: { conversation: '@Andy hi there' } })]);
    const [m] = await until(() => received.length === 1 && received);
    expect(m).toMatchObject({
      chatId: `wa:${FAMILY}`,
      senderId: `wa:${BOB}`,
      senderName: 'Bob',
      text: '@Andy hi there',
      chatName: 'Family',
      fromAssistant: false,
    });
    expect(seen).toContainEqual({ chatId: `wa:${FAMILY}`, name: 'Family', isGroup: true });
  });

  it('LIDs without an alternate address go through Baileys’ LID map; an unknown one stays a LID', async () => {
    const { wa, received } = await start({}, { [`wa:${BOB}`]: 'bob', 'wa:77700000009@lid': 'stranger' });
    wa.lidToPn.set(BOB_LID, BOB);
    wa.receive([waMessage({ chat: BOB_LID, pushName: 'Bob', message: { conversation: 'dm via lid' } })]);
    wa.receive([waMessage({ chat: '77700000009@lid', message: { conversation: 'who am i' } })]);
    await until(() => received.length === 2);
    expect(received.map((m) => [m.chatId, m.senderId, m.senderName])).toEqual([
      [`wa:${BOB}`, `wa:${BOB}`, 'Bob'],
      ['wa:77700000009@lid', 'wa:77700000009@lid', '77700000009@lid'],
    ]);
  });

  it('extended text and a quoted reply carry what they quote', async () => {
    const { wa, received } = await start();
    wa.receive([
      waMessage({ chat: FAMILY, from: BOB, pushName: 'Bob', message: { conversation: 'pizza or pasta?' } }),
      waMessage({
        chat: FAMILY,
        from: '4915100000003@s.whatsapp.net',
        pushName: 'Cleo',
        message: {
          extendedTextMessage: {
            text: '@Andy what do you think?',
            contextInfo: { participant: BOB, stanzaId: 'X', quotedMessage: { conversation: 'pizza or pasta?' } },
          },
        },
      }),
    ]);
    await until(() => received.length === 2);
    expect(received[1].text).toBe('[replying to Bob: "pizza or pasta?"]\n@Andy what do you think?');
  });

  it('status updates, reactions and protocol messages are not messages', async () => {
    const { wa, received, seen } = await start();
    const before = seen.length;
    wa.receive([
      waMessage({ chat: 'status@broadcast', from: BOB, message: { conversation: 'my story' } }),
      waMessage({ chat: FAMILY, from: BOB, message: { reactionMessage: { text: '👍', key: { id: 'X' } } } }),
      waMessage({ chat: FAMILY, from: BOB, message: { protocolMessage: { type: 0, key: { id: 'X' } } } }),
      waMessage({ chat: FAMILY, from: BOB, message: { conversation: 'a real one' } }),
    ]);
    await until(() => received.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((m) => m.text)).toEqual(['a real one']);
    expect(seen.slice(before).some((c) => c.chatId.includes('status'))).toBe(false);
  });

  it('unsupported content becomes a short note instead of vanishing', async () => {
    const { wa, received } = await start();
    wa.receive([
      waMessage({ chat: FAMILY, from: BOB, message: { stickerMessage: { mimetype: 'image/webp' } } }),
      waMessage({ chat: FAMILY, from: BOB, message: { locationMessage: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin' } } }),
      waMessage({ chat: FAMILY, from: BOB, message: { eventMessage: { name: 'Party' } } }),
    ]);
    await until(() => received.length === 3);
    expect(received.map((m) => m.text)).toEqual([
      '[sticker]',
      '[location: 52.52, 13.405 (Berlin)]',
      '[a WhatsApp event message, which I cannot read]',
    ]);
  });

  it('an unregistered chat gives its name only: no content kept, no media downloaded', async () => {
    const { wa, received, seen } = await start();
    const requests = cdn.requests;
    const photo = await cdn.upload(Buffer.from('secret photo'), 'image', 'unreg.jpg');
    wa.receive([
      waMessage({ chat: '4915100000099@s.whatsapp.net', pushName: 'Dora', message: { imageMessage: { ...photo, mimetype: 'image/jpeg', caption: 'hi' } } }),
    ]);
    await until(() => seen.some((c) => c.chatId === 'wa:4915100000099@s.whatsapp.net'));
    expect(seen.find((c) => c.chatId === 'wa:4915100000099@s.whatsapp.net')).toEqual({
      chatId: 'wa:4915100000099@s.whatsapp.net',
      name: 'Dora',
      isGroup: false,
    });
    expect(received).toEqual([]);
    expect(cdn.requests).toBe(requests);
  });

  it('media lands in the right group folder and nowhere else, referenced by its sandbox path', async () => {
    const { wa, received, root } = await start();
    const jpeg = Buffer.from('\xff\xd8\xff fake jpeg bytes', 'latin1');
    const ogg = Buffer.from('OggS fake voice');
    const pdf = Buffer.from('%PDF-1.4 fake');
    const img = await cdn.upload(jpeg, 'image', 'a.jpg');
    const voice = await cdn.upload(ogg, 'audio', 'v.ogg');
    const doc = await cdn.upload(pdf, 'document', 'd.pdf');
    const at = Date.UTC(2026, 10, 24, 12);
    wa.receive([
      waMessage({ chat: FAMILY, from: BOB, id: 'IMG1', at, message: { imageMessage: { ...img, mimetype: 'image/jpeg', caption: '@Andy what is this?' } } }),
      waMessage({ chat: FAMILY, from: BOB, id: 'VOICE1', at, message: { audioMessage: { ...voice, mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 7 } } }),
      waMessage({
        chat: WORK,
        from: BOB,
        id: 'DOC1',
        at,
        message: { documentWithCaptionMessage: { message: { documentMessage: { ...doc, mimetype: 'application/pdf', fileName: '../../etc/pass wd.pdf', caption: 'the report' } } } },
      }),
    ]);
    await until(() => received.length === 3);
    // Order is kept per chat; the work group's document may overtake the family's voice note.
    expect(received.map((m) => m.text).sort()).toEqual([
      '[document "../../etc/pass wd.pdf": /workspace/group/media/2026-11-24-DOC1-etc_pass_wd.pdf]\nthe report',
      '[image: /workspace/group/media/2026-11-24-IMG1.jpg]\n@Andy what is this?',
      '[voice note (7 s): /workspace/group/media/2026-11-24-VOICE1.ogg]',
    ]);
    expect(received.filter((m) => m.chatId === `wa:${FAMILY}`).map((m) => m.platformId)).toEqual(['IMG1', 'VOICE1']);
    expect(walk(root).sort()).toEqual([
      'groups/family/media/2026-11-24-IMG1.jpg',
      'groups/family/media/2026-11-24-VOICE1.ogg',
      'groups/work/media/2026-11-24-DOC1-etc_pass_wd.pdf',
    ]);
    expect(readFileSync(join(root, 'groups/family/media/2026-11-24-IMG1.jpg'))).toEqual(jpeg);
    expect(readFileSync(join(root, 'groups/family/media/2026-11-24-VOICE1.ogg'))).toEqual(ogg);
    expect(readFileSync(join(root, 'groups/work/media/2026-11-24-DOC1-etc_pass_wd.pdf'))).toEqual(pdf);
  });

  it('media over the size cap is not downloaded, even when its declared size lies', async () => {
    const { wa, received, root } = await start({ maxMediaBytes: 1024 });
    const big = await cdn.upload(Buffer.alloc(4096, 7), 'video', 'big.mp4');
    const requests = cdn.requests;
    wa.receive([
      waMessage({ chat: FAMILY, from: BOB, id: 'VID1', message: { videoMessage: { ...big, mimetype: 'video/mp4' } } }),
      waMessage({ chat: FAMILY, from: BOB, id: 'VID2', message: { videoMessage: { ...big, fileLength: 100, mimetype: 'video/mp4', caption: 'small, honest' } } }),
    ]);
    await until(() => received.length === 2);
    expect(received[0].text).toBe('[video too large to download (0.00 MB; the limit is 0.00 MB)]');
    expect(received[1].text).toMatch(/^\[video could not be downloaded: larger than the 0\.00 MB limit\]\nsmall, honest$/);
    expect(cdn.requests).toBe(requests + 1); // only the one that lied was fetched, and cut off
    expect(walk(root)).toEqual([]);
  });

  it('a photo the group folder refuses (media/ made a link by the agent) is noted to the agent and told to the chat once', async () => {
    const { wa, received, root, notices } = await start();
    const outside = mkdtempSync(join(tmpdir(), 'carapace-wa-outside-'));
    mkdirSync(join(root, 'groups/family'), { recursive: true });
    symlinkSync(outside, join(root, 'groups/family/media'));
    const img = await cdn.upload(Buffer.from('jpeg'), 'image', 'a.jpg');
    const photo = waMessage({ chat: FAMILY, from: BOB, id: 'IMG9', message: { imageMessage: { ...img, mimetype: 'image/jpeg' } } });
    wa.receive([photo]);
    await until(() => received.length === 1);
    expect(received[0].text).toBe('[image could not be saved: media is a symbolic link]');
    expect(notices).toEqual([{ chatId: `wa:${FAMILY}`, key: 'media-IMG9', text: '⚠️ The image you sent could not be saved: media is a symbolic link; I cannot see it.' }]);
    expect(readdirSync(outside)).toEqual([]); // nothing written through the link
    rmSync(outside, { recursive: true, force: true });
  });
});

describe('WhatsApp shared number and own number', () => {
  it('shared: the owner writes in the self-chat (addressed by our LID); our own echo is not a new message', async () => {
    const { wa, received, ch } = await start();
    wa.receive([waMessage({ chat: '99900000001@lid', fromMe: true, pushName: 'Olga Owner', message: { conversation: 'remind me at 5' } })]);
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ chatId: `wa:${SELF}`, senderName: 'Olga Owner', fromAssistant: false, text: 'remind me at 5' });
    await ch.send(`wa:${SELF}`, 'Sure, **5 pm** it is.');
    expect(wa.texts()).toEqual(['Andy: Sure, *5 pm* it is.']);
    await new Promise((r) => setTimeout(r, 50)); // the echo arrives (Baileys' emitOwnEvents)
    expect(received).toHaveLength(1);
    // A signed message from this account that we did not just send (e.g. before a restart) is the assistant's.
    wa.receive([waMessage({ chat: SELF, fromMe: true, message: { conversation: 'Andy: earlier reply' } })]);
    await until(() => received.length === 2);
    expect(received[1]).toMatchObject({ fromAssistant: true, senderName: 'Andy', text: 'earlier reply' });
    // A team member speaks under its role; its signature is recognised the same way.
    await ch.send(`wa:${SELF}`, 'found 3 sources', { sender: 'Researcher' });
    expect(wa.texts().at(-1)).toBe('Andy (Researcher): found 3 sources');
    wa.receive([waMessage({ chat: SELF, fromMe: true, message: { conversation: 'Andy (Critic): check source 2' } })]);
    await until(() => received.length === 3);
    expect(received[2]).toMatchObject({ fromAssistant: true, text: 'check source 2' });
  });

  it('own number: nothing is signed and everything sent from the account is the assistant’s', async () => {
    const { wa, received, ch, mains } = await start({ ownNumber: true, mainChat: '4915100000001' }, { [`wa:${SELF}`]: 'main' });
    expect(mains).toEqual([{ chatId: `wa:${SELF}`, name: '+4915100000001', isGroup: false }]);
    await ch.send(`wa:${FAMILY}`, 'hello');
    await ch.send(`wa:${FAMILY}`, 'my part', { sender: 'Researcher' });
    expect(wa.texts()).toEqual(['hello', '*Researcher:* my part']);
    wa.receive([waMessage({ chat: FAMILY, from: OWNER_PN + '@s.whatsapp.net', fromMe: true, message: { conversation: 'typed on the phone' } })]);
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ fromAssistant: true, senderName: 'Andy' });
  });

  it('the self-chat is the default main chat; ready() on every connect', async () => {
    const { wa, mains, state } = await start({ backoff: { baseMs: 10, maxMs: 10, stableMs: 1 } });
    expect(mains).toEqual([{ chatId: `wa:${SELF}`, name: 'Me (self-chat)', isGroup: false }]);
    expect(state.ready).toBe(1);
    void wa.current.end(closeError(428));
    await until(() => state.ready === 2);
  });
});

describe('WhatsApp outbound', () => {
  it('long replies are split into parts with stable ids; a retry resumes after the part that failed', async () => {
    const { wa, ch } = await start({ maxChars: 200 });
    const text = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}: **important** point number ${i}.`).join('\n\n');
    let calls = 0;
    wa.onSent = () => {
      if (++calls === 2) wa.sendFailures.push(closeError(428, 'Connection Closed'));
    };
    await expect(ch.send(`wa:${FAMILY}`, text, { key: 'row-1' })).rejects.toThrow('Connection Closed');
    const firstTry = wa.sent.length;
    const id = await ch.send(`wa:${FAMILY}`, text, { key: 'row-1' });
    const parts = wa.sent.map((s) => ('text' in s.content ? s.content.text : ''));
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.every((p) => p.length <= 200 && p.startsWith('Andy: Paragraph'))).toBe(true);
    expect(parts.join('\n')).toContain('*important*');
    expect(new Set(parts).size).toBe(parts.length); // nothing sent twice
    expect(wa.sent.map((s) => s.options?.messageId)).toEqual(parts.map((_, i) => messageIdFor('row-1', i)));
    expect(firstTry).toBe(2);
    expect(id).toBe(messageIdFor('row-1', parts.length - 1));
  });

  it('refuses quickly while disconnected, so delivery waits for the reconnect', async () => {
    const { wa, ch } = await start({ backoff: { baseMs: 60_000, maxMs: 60_000, stableMs: 1 } });
    void wa.current.end(closeError(408, 'getaddrinfo ENOTFOUND'));
    await expect(ch.send(`wa:${FAMILY}`, 'hi')).rejects.toBeInstanceOf(ChannelUnavailableError);
    await expect(ch.send(`wa:${FAMILY}`, 'hi')).rejects.toThrow(/not connected \(no internet connection/);
    expect(wa.sent).toEqual([]);
  });

  it('files go out as images or documents with their caption', async () => {
    const { wa, ch, root } = await start();
    const png = join(root, 'chart.png');
    const pdf = join(root, 'report.pdf');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(png, 'png-bytes');
    writeFileSync(pdf, 'pdf-bytes');
    await ch.sendFile(`wa:${FAMILY}`, { path: png, fileName: 'chart.png', caption: 'the **chart**' }, { key: 'f1' });
    await ch.sendFile(`wa:${FAMILY}`, { path: pdf, fileName: 'report.pdf' }, { key: 'f2' });
    expect(wa.sent[0].content).toEqual({ image: Buffer.from('png-bytes'), caption: 'Andy: the *chart*', mimetype: 'image/png' });
    expect(wa.sent[1].content).toEqual({ document: Buffer.from('pdf-bytes'), mimetype: 'application/pdf', fileName: 'report.pdf', caption: 'Andy:' });
  });

  it('is rate limited: a burst goes at once, the rest at the configured pace', async () => {
    vi.useFakeTimers();
    const { wa, ch } = await start({ sendPerMinute: 20, sendBurst: 3 });
    await vi.advanceTimersByTimeAsync(1);
    const t0 = Date.now();
    const at: number[] = [];
    wa.onSent = () => at.push(Date.now() - t0);
    const sends = Array.from({ length: 6 }, (_, i) => ch.send(`wa:${FAMILY}`, `m${i}`));
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(sends);
    expect(wa.texts()).toEqual(['Andy: m0', 'Andy: m1', 'Andy: m2', 'Andy: m3', 'Andy: m4', 'Andy: m5']);
    expect(at).toEqual([0, 0, 0, 3000, 6000, 9000]);
  });

  it('keeps "typing…" alive for the whole run and clears it at the end', async () => {
    vi.useFakeTimers();
    const { wa, ch } = await start({ typingRefreshMs: 10_000 });
    await vi.advanceTimersByTimeAsync(1);
    const t0 = Date.now();
    await ch.setTyping(`wa:${FAMILY}`, true);
    await vi.advanceTimersByTimeAsync(35_000);
    await ch.setTyping(`wa:${FAMILY}`, false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(wa.presences.map((p) => [p.type, p.jid, p.at - t0])).toEqual([
      ['available', undefined, 0],
      ['composing', FAMILY, 0],
      ['composing', FAMILY, 10_000],
      ['composing', FAMILY, 20_000],
      ['composing', FAMILY, 30_000],
      ['paused', FAMILY, 35_000],
      ['unavailable', undefined, 35_000],
    ]);
  });

  it('syncs group names on connect and daily, not on every reconnect', async () => {
    vi.useFakeTimers();
    const { wa, seen } = await start({ backoff: { baseMs: 1000, maxMs: 1000, stableMs: 1 } });
    await vi.advanceTimersByTimeAsync(1);
    expect(wa.groupFetches).toBe(1);
    expect(seen.filter((c) => c.isGroup).map((c) => c.name)).toEqual(['Family', 'Work']);
    void wa.current.end(closeError(428));
    await vi.advanceTimersByTimeAsync(2000);
    expect(wa.sockets).toHaveLength(2);
    expect(wa.groupFetches).toBe(1);
    wa.groups[0] = groupMetadata(FAMILY, 'Family ❤️');
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(wa.groupFetches).toBe(2);
    expect(seen.at(-1)).toEqual({ chatId: `wa:${FAMILY}`, name: 'Family ❤️', isGroup: true });
  });
});
