// A fake Discord at the wire, for the real discord.js client. REST under /api/v10 (gateway/bot pointing at the
// local gateway, users/@me, applications/@me, channel messages as JSON or multipart with attachments, typing,
// 429s with Retry-After and the X-RateLimit headers, nonces with enforce_nonce, Discord's error shapes) and a
// gateway WebSocket speaking the real protocol: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats and ACKs,
// dispatches with sequence numbers, RESUME → replay + RESUMED, opcode 7 (reconnect), opcode 9 (invalid
// session), close codes 4004 and 4014. Attachments people "send" are served from /attachments/.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { SnowflakeUtil } from 'discord.js';
import { WebSocketServer, type WebSocket } from 'ws';

export const BOT = { id: '900000000000000001', username: 'carapace', discriminator: '0', global_name: 'Carapace', avatar: null, bot: true };
export const TOKEN = 'fake-discord-bot-token.abc.def';
const MESSAGE_CONTENT = 1 << 15;

export interface SentMessage {
  channelId: string;
  content: string;
  allowedMentions?: unknown;
  nonce?: string;
  files: { name: string; data: Buffer }[];
  id: string;
  /** performance.now() when the create arrived. */
  at: number;
  /** Buttons, as [label, custom id]. */
  buttons?: [string, string][];
}

interface Session {
  id: string;
  seq: number;
  /** Every dispatch of the session, for replay on RESUME. */
  log: { s: number; t: string; d: unknown }[];
  socket?: WebSocket;
}

export interface FakeGuild {
  id: string;
  name: string;
  channels: { id: string; name: string; type?: number; parent_id?: string }[];
}

export class FakeDiscord {
  url = '';
  readonly sent: SentMessage[] = [];
  readonly typing: string[] = [];
  /** Interaction responses (a button press answered), as [interaction id, content, flags]. */
  readonly interactionReplies: [string, string, number][] = [];
  readonly identifies: number[] = [];
  readonly resumes: string[] = [];
  /** The next successful RESUME is followed at once by opcode 9. */
  invalidateAfterResume = false;
  guilds: FakeGuild[] = [];
  /** The application's Message Content intent switch (off → identify with it closes 4014). */
  messageContentIntent = true;
  /** The gateway refuses the token REST still takes (revoked in between): IDENTIFY closes 4004. */
  gatewayRejectsToken = false;
  /** The next n message creates get a 429. */
  rateLimitNext = 0;
  retryAfterS = 0.3;
  /** Channels the bot may not post in (50001 Missing Access). */
  readonly forbidden = new Set<string>();
  /** Holds every message create until released (a reply in flight at a crash). */
  hold?: Promise<void>;
  /** The gateway refuses connections (a network outage): the client cannot resume and identifies afresh later. */
  gatewayDown = false;
  /** Gateway connections are accepted but never answered (a handshake that hangs), until close(). */
  hangUpgrades = false;
  private readonly hanging: { destroy(): void }[] = [];
  /** Connection attempts refused while down. */
  refused = 0;
  /** Messages per channel, as GET /channels/:id/messages serves them. */
  private readonly history = new Map<string, { id: string }[]>();
  /** Message creates that arrived (held ones included). */
  creates = 0;
  /** Awaited after a message was accepted (recorded), before the answer goes out: a test kills the client here. */
  onAccepted?: (sent: SentMessage) => Promise<void>;
  private readonly files = new Map<string, Buffer>();
  private readonly sessions = new Map<string, Session>();
  private current?: Session;
  private server?: Server;
  private wss?: WebSocketServer;

  /** Listens on `port` (0: any free one). */
  async start(port = 0): Promise<this> {
    this.wss = new WebSocketServer({ noServer: true });
    this.server = createServer((req, res) => void this.rest(req, res).catch((err) => this.reply(res, 500, { message: String(err), code: 0 })));
    this.server.on('upgrade', (req, socket, head) => {
      if (this.gatewayDown) return void (this.refused++, socket.destroy());
      if (this.hangUpgrades) return void this.hanging.push(socket);
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.gateway(ws));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get apiUrl(): string {
    return `${this.url}/api`;
  }

  /** An id as Discord makes them: the time is in it (discord.js reads a message's time from its id). */
  snowflake(): string {
    return SnowflakeUtil.generate().toString();
  }

  /** A file people attached, served like Discord's CDN. */
  attachment(name: string, data: Buffer, contentType: string) {
    const id = this.snowflake();
    this.files.set(`${id}/${name}`, data);
    return { id, filename: name, size: data.length, url: `${this.url}/attachments/${id}/${name}`, proxy_url: `${this.url}/attachments/${id}/${name}`, content_type: contentType };
  }

  /** `user` presses the button `customId` under the bot's message `sent` in a DM (an INTERACTION_CREATE). */
  press(sent: SentMessage, user: FakeUser, customId: string): string {
    const id = this.snowflake();
    this.dispatch('INTERACTION_CREATE', {
      id,
      application_id: BOT.id,
      type: 3,
      token: `itoken-${id}`,
      version: 1,
      channel_id: sent.channelId,
      channel: { id: sent.channelId, type: 1, recipients: [{ discriminator: '0', avatar: null, ...user }] },
      user: { discriminator: '0', avatar: null, global_name: null, ...user },
      message: message({ id: sent.id, channel_id: sent.channelId, author: BOT, content: sent.content }),
      data: { custom_id: customId, component_type: 2 },
      locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
      context: 1,
    });
    return id;
  }

  /** A dispatch to the connected session (kept for replay when nobody is connected). */
  dispatch(t: string, d: unknown): void {
    if (t === 'MESSAGE_CREATE') this.remember(d as { id: string; channel_id: string });
    const session = this.current;
    if (!session) throw new Error('no gateway session');
    const s = ++session.seq;
    session.log.push({ s, t, d });
    session.socket?.send(JSON.stringify({ op: 0, t, s, d }));
  }

  /** A message said while the bot was not connected at all: only REST history has it. */
  remember(m: { id: string; channel_id: string }): void {
    this.history.set(m.channel_id, [...(this.history.get(m.channel_id) ?? []), m]);
  }

  /** The connection drops without a close frame (network loss): discord.js resumes. */
  drop(): void {
    this.current?.socket?.terminate();
    if (this.current) this.current.socket = undefined;
  }

  /** Opcode 7: the client should reconnect and resume. */
  requestReconnect(): void {
    this.current?.socket?.send(JSON.stringify({ op: 7, d: null }));
  }

  /** Opcode 9: the session is gone; the client identifies again. */
  invalidateSession(): void {
    if (this.current) this.sessions.delete(this.current.id);
    this.current?.socket?.send(JSON.stringify({ op: 9, d: false }));
  }

  get hangingCount(): number {
    return this.hanging.length;
  }

  get connected(): boolean {
    return this.current?.socket !== undefined;
  }

  texts(channelId?: string): string[] {
    return this.sent.filter((m) => !channelId || m.channelId === channelId).map((m) => m.content);
  }

  async close(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    for (const socket of this.hanging) socket.destroy();
    this.wss?.close();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private gateway(ws: WebSocket): void {
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 45_000 } }));
    ws.on('message', (raw) => {
      const { op, d } = JSON.parse(String(raw));
      if (op === 1) ws.send(JSON.stringify({ op: 11 }));
      else if (op === 2) this.identify(ws, d);
      else if (op === 6) this.resume(ws, d);
    });
    ws.on('close', () => {
      if (this.current?.socket === ws) this.current.socket = undefined;
    });
  }

  private identify(ws: WebSocket, d: { token: string; intents: number }): void {
    this.identifies.push(d.intents);
    if (d.token !== TOKEN || this.gatewayRejectsToken) return ws.close(4004, 'Authentication failed.');
    if (d.intents & MESSAGE_CONTENT && !this.messageContentIntent) return ws.close(4014, 'Disallowed intent(s).');
    const session: Session = { id: `session-${this.sessions.size + 1}-${Date.now()}`, seq: 0, log: [], socket: ws };
    this.sessions.set(session.id, session);
    this.current = session;
    this.dispatch('READY', {
      v: 10,
      user: BOT,
      guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.url.replace('http', 'ws'),
      application: { id: BOT.id, flags: 1 << 19 },
    });
    for (const guild of this.guilds) this.dispatch('GUILD_CREATE', guildPayload(guild));
  }

  private resume(ws: WebSocket, d: { token: string; session_id: string; seq: number }): void {
    const session = this.sessions.get(d.session_id);
    if (d.token !== TOKEN) return ws.close(4004, 'Authentication failed.');
    if (!session) return void ws.send(JSON.stringify({ op: 9, d: false }));
    this.resumes.push(d.session_id);
    session.socket = ws;
    this.current = session;
    for (const e of session.log.filter((e) => e.s > d.seq)) ws.send(JSON.stringify({ op: 0, ...e }));
    this.dispatch('RESUMED', null);
    // Discord may end a session at any moment, even right after resuming it (both frames in one read).
    if (this.invalidateAfterResume) this.invalidateSession();
  }

  private async rest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const file = /^\/attachments\/(.+)$/.exec(path);
    if (file) return this.serveFile(res, this.files.get(decodeURIComponent(file[1])));
    // Interaction responses carry the interaction's token in the path, not the bot token (as on Discord).
    const callback = /^\/api\/v10\/interactions\/(\d+)\/([\w.-]+)\/callback$/.exec(path);
    if (callback && req.method === 'POST') {
      const { body } = await readBody(req);
      this.interactionReplies.push([callback[1], body.data?.content ?? '', body.data?.flags ?? 0]);
      return this.reply(res, 204);
    }
    if (req.headers.authorization !== `Bot ${TOKEN}`) return this.reply(res, 401, { message: '401: Unauthorized', code: 0 });
    if (path === '/api/v10/gateway/bot') {
      return this.reply(res, 200, { url: this.url.replace('http', 'ws'), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 } });
    }
    if (path === '/api/v10/users/@me') return this.reply(res, 200, BOT);
    if (path === '/api/v10/applications/@me') return this.reply(res, 200, { id: BOT.id, name: 'Carapace', flags: this.messageContentIntent ? 1 << 19 : 0 });
    const typing = /^\/api\/v10\/channels\/(\d+)\/typing$/.exec(path);
    if (typing && req.method === 'POST') {
      this.typing.push(typing[1]);
      return this.reply(res, 204);
    }
    const create = /^\/api\/v10\/channels\/(\d+)\/messages$/.exec(path);
    if (create && req.method === 'POST') return this.createMessage(req, res, create[1]);
    if (create && req.method === 'GET') return this.reply(res, 200, this.messagesAfter(create[1], new URL(req.url!, this.url).searchParams));
    this.reply(res, 404, { message: '404: Not Found', code: 0 });
  }

  private async createMessage(req: IncomingMessage, res: ServerResponse, channelId: string): Promise<void> {
    const { body, files } = await readBody(req);
    this.creates++;
    await this.hold;
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      res.setHeader('Retry-After', String(this.retryAfterS));
      res.setHeader('X-RateLimit-Limit', '5');
      res.setHeader('X-RateLimit-Remaining', '0');
      res.setHeader('X-RateLimit-Reset', String(Date.now() / 1000 + this.retryAfterS));
      res.setHeader('X-RateLimit-Reset-After', String(this.retryAfterS));
      res.setHeader('X-RateLimit-Bucket', 'fake-bucket-messages');
      res.setHeader('X-RateLimit-Scope', 'user');
      return this.reply(res, 429, { message: 'You are being rate limited.', retry_after: this.retryAfterS, global: false });
    }
    if (this.forbidden.has(channelId)) return this.reply(res, 403, { message: 'Missing Access', code: 50001 });
    if (typeof body.nonce === 'string' && body.nonce.length > 25) return this.reply(res, 400, { message: 'Invalid Form Body', code: 50035 });
    if (typeof body.content === 'string' && body.content.length > 2000) {
      return this.reply(res, 400, { message: 'Invalid Form Body', code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } } });
    }
    const earlier = body.enforce_nonce && this.sent.find((m) => m.channelId === channelId && m.nonce === body.nonce);
    if (earlier) return this.reply(res, 200, this.messagePayload(earlier));
    const buttons = (body.components as { components: { label: string; custom_id: string }[] }[] | undefined)?.flatMap((row) => row.components.map((b): [string, string] => [b.label, b.custom_id]));
    const message: SentMessage = { channelId, content: body.content ?? '', allowedMentions: body.allowed_mentions, nonce: body.nonce, files, id: this.snowflake(), at: performance.now(), ...(buttons ? { buttons } : {}) };
    this.sent.push(message);
    const payload = this.messagePayload(message);
    if (this.current) this.dispatch('MESSAGE_CREATE', payload); // Discord echoes the bot's own messages
    await this.onAccepted?.(message);
    this.reply(res, 200, payload);
  }

  /** Newest first, as Discord pages them. */
  private messagesAfter(channelId: string, query: URLSearchParams) {
    const after = BigInt(query.get('after') ?? '0');
    const limit = Number(query.get('limit') ?? 50);
    return (this.history.get(channelId) ?? []).filter((m) => BigInt(m.id) > after).slice(0, limit).reverse();
  }

  private messagePayload(m: SentMessage) {
    const attachments = m.files.map((f) => ({ id: this.snowflake(), filename: f.name, size: f.data.length, url: `${this.url}/x`, proxy_url: `${this.url}/x` }));
    return message({ id: m.id, channel_id: m.channelId, author: BOT, content: m.content, attachments, nonce: m.nonce });
  }

  private serveFile(res: ServerResponse, data: Buffer | undefined): void {
    if (!data) return this.reply(res, 404, { message: 'not found', code: 0 });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length }).end(data);
  }

  private reply(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) return void res.writeHead(status).end();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** JSON, or multipart with payload_json and files[n], read with the platform's own form parser. */
async function readBody(req: IncomingMessage): Promise<{ body: Record<string, any>; files: { name: string; data: Buffer }[] }> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return { body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {}, files: [] };
  }
  const request = new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } as RequestInit);
  const form = await request.formData();
  const files: { name: string; data: Buffer }[] = [];
  for (const [key, value] of form.entries()) {
    if (key.startsWith('files[') && typeof value !== 'string') files.push({ name: value.name, data: Buffer.from(await value.arrayBuffer()) });
  }
  return { body: JSON.parse(String(form.get('payload_json') ?? '{}')), files };
}

export function guildPayload(g: FakeGuild) {
  const channels = g.channels.filter((c) => (c.type ?? 0) !== 11).map((c) => ({ id: c.id, type: c.type ?? 0, name: c.name, guild_id: g.id, position: 0, permission_overwrites: [], parent_id: null }));
  const threads = g.channels.filter((c) => c.type === 11).map((c) => threadPayload(g.id, c));
  return { id: g.id, name: g.name, unavailable: false, owner_id: '1', joined_at: new Date().toISOString(), member_count: 2, large: false, features: [], roles: [], emojis: [], stickers: [], members: [], channels, threads, voice_states: [], presences: [] };
}

export const threadPayload = (guildId: string, c: { id: string; name: string; parent_id?: string }) => ({
  id: c.id,
  type: 11,
  guild_id: guildId,
  parent_id: c.parent_id,
  name: c.name,
  owner_id: '1',
  thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
  message_count: 1,
  member_count: 1,
});

export interface FakeUser {
  id: string;
  username: string;
  global_name?: string;
  bot?: boolean;
}

/** A MESSAGE_CREATE payload as Discord sends it. */
export function message(p: { id: string; channel_id: string; author: FakeUser; content: string; guild_id?: string; mentions?: FakeUser[]; attachments?: unknown[]; embeds?: unknown[]; referenced?: Record<string, unknown>; nonce?: string; edited?: string; channel_type?: number }) {
  return {
    id: p.id,
    channel_id: p.channel_id,
    channel_type: p.channel_type ?? (p.guild_id ? 0 : 1),
    ...(p.guild_id ? { guild_id: p.guild_id, member: { nick: null, roles: [], joined_at: new Date().toISOString() } } : {}),
    author: { discriminator: '0', avatar: null, global_name: null, ...p.author },
    content: p.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: p.edited ?? null,
    tts: false,
    mention_everyone: false,
    mentions: p.mentions ?? [],
    mention_roles: [],
    attachments: p.attachments ?? [],
    embeds: p.embeds ?? [],
    pinned: false,
    type: p.referenced ? 19 : 0,
    ...(p.referenced ? { referenced_message: p.referenced, message_reference: { message_id: p.referenced.id, channel_id: p.channel_id } } : {}),
    ...(p.nonce ? { nonce: p.nonce } : {}),
  };
}
