// A fake Slack for tests at the wire: the Web API over HTTP (the methods Carapace uses, with Slack's answer shapes
// and error codes, 429 + Retry-After) and Socket Mode over a WebSocket (hello, events_api envelopes that must be
// acked, disconnect). The real Bolt App and WebClient talk to it through SLACK_API_URL. Everything sent is recorded.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const APP_TOKEN = 'xapp-1-A0APP-1-secretapp';
export const BOT_TOKEN = 'xoxb-1-secretbot';
export const BOT_USER = 'UBOT';
export const APP_ID = 'A0APP';

export interface Posted {
  channel: string;
  text: string;
  thread_ts?: string;
  username?: string;
  ts: string;
  /** When the fake took it (performance.now()). */
  at: number;
  /** Block Kit buttons, as [label, action id]. */
  buttons?: [string, string][];
}

export interface Uploaded {
  channel_id?: string;
  thread_ts?: string;
  filename: string;
  initial_comment?: string;
  data: Buffer;
}

type Failure = { status: 429; retryAfter: number } | { error: string };

export class FakeSlack {
  readonly posted: Posted[] = [];
  readonly uploads: Uploaded[] = [];
  readonly reactions: { how: 'add' | 'remove'; channel: string; timestamp: string; name: string }[] = [];
  readonly calls: string[] = [];
  readonly acks = new Set<string>();
  /** chat.postEphemeral: what one person was shown. */
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  readonly users = new Map<string, string>([['UOWNER', 'Olga'], ['UBOB', 'Bob']]);
  readonly channels = new Map<string, string>([['CFAMILY', 'family']]);
  readonly files = new Map<string, Buffer>();
  /** The bot token's app; a different one makes the tokens mismatched. */
  botAppId = APP_ID;
  /** While set, apps.connections.open fails (Slack is having trouble): a dropped client stays away. */
  holdConnections = false;
  /** Tokens Slack refuses with invalid_auth. */
  readonly revoked = new Set<string>();
  private readonly failures = new Map<string, Failure[]>();
  private readonly uploadIds = new Map<string, number>();
  private readonly sockets = new Set<WebSocket>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private lastTs = 0;
  private readonly envelopes: { envelope_id: string; retry_attempt: number }[] = [];
  /** Socket Mode connections opened so far. */
  hellos = 0;
  /** Awaited after a message was accepted (recorded), before the answer goes out: a test kills the client here. */
  onAccepted?: (posted: Posted) => Promise<void>;
  private nextId = 1;
  private pinger: NodeJS.Timeout | undefined;

  constructor() {
    this.server = createServer((req, res) => void this.route(req, res).catch((err) => res.writeHead(500).end(String(err))));
    this.wss = new WebSocketServer({ server: this.server, path: '/link/' });
    this.wss.on('connection', (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as { envelope_id?: string };
        if (msg.envelope_id) this.acks.add(msg.envelope_id);
      });
      this.hellos++;
      ws.send(JSON.stringify({ type: 'hello', num_connections: this.sockets.size, connection_info: { app_id: APP_ID }, debug_info: { host: 'fake' } }));
      // Like Slack, an envelope nobody acknowledged is sent again on the next connection.
      for (const envelope of this.unacked()) ws.send(JSON.stringify({ ...envelope, retry_attempt: envelope.retry_attempt + 1, retry_reason: 'timeout' }));
    });
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.pinger = setInterval(() => this.sockets.forEach((ws) => ws.ping()), 2_000);
    return this.apiUrl;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What SLACK_API_URL is set to. */
  get apiUrl(): string {
    return `${this.origin}/api`;
  }

  private unacked() {
    return this.envelopes.filter((e) => !this.acks.has(e.envelope_id));
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** The next calls of `method` fail like this, in order. */
  failNext(method: string, ...failures: Failure[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...failures]);
  }

  /** A file Slack holds, as a message event's `files` entry. */
  addFile(name: string, data: Buffer): { id: string; name: string; size: number; url_private_download: string; mode: string } {
    const id = `F${this.nextId++}`;
    this.files.set(id, data);
    return { id, name, size: data.length, url_private_download: `${this.origin}/files-pri/${id}/${encodeURIComponent(name)}`, mode: 'hosted' };
  }

  /** Send an Events API envelope on every open socket; resolves with its envelope id. */
  sendEvent(event: Record<string, unknown>): string {
    const envelopeId = `env-${this.nextId++}`;
    const payload = { token: 'x', team_id: 'T1', api_app_id: APP_ID, event, type: 'event_callback', event_id: `Ev${this.nextId}`, event_time: Math.floor(Date.now() / 1000) };
    return this.deliver({ envelope_id: envelopeId, type: 'events_api', accepts_response_payload: false, retry_attempt: 0, retry_reason: '', payload });
  }

  /** `user` presses the button `actionId` under the posted message `post` (an interactive block_actions envelope). */
  press(post: Posted, user: string, actionId: string): string {
    const envelopeId = `env-${this.nextId++}`;
    const action = { type: 'button', action_id: actionId, block_id: `b-${actionId}`, value: actionId.split(':').at(-1), action_ts: this.ts() };
    const payload = {
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), team_id: 'T1' },
      api_app_id: APP_ID,
      token: 'x',
      container: { type: 'message', message_ts: post.ts, channel_id: post.channel, is_ephemeral: false },
      trigger_id: `trig-${this.nextId}`,
      team: { id: 'T1', domain: 'fake' },
      channel: { id: post.channel, name: post.channel },
      message: { type: 'message', ts: post.ts, text: post.text },
      actions: [action],
    };
    return this.deliver({ envelope_id: envelopeId, type: 'interactive', accepts_response_payload: false, retry_attempt: 0, retry_reason: '', payload });
  }

  /** Send an envelope on every open socket (and again on reconnect until acked); returns its id. */
  private deliver(envelope: { envelope_id: string; retry_attempt: number; [field: string]: unknown }): string {
    this.envelopes.push(envelope);
    for (const ws of this.sockets) ws.send(JSON.stringify(envelope));
    return envelope.envelope_id;
  }

  /** A message event as Slack sends it. */
  message(fields: { channel: string; user: string; text: string; thread_ts?: string; files?: unknown[]; channel_type?: string }): string {
    const ts = this.ts();
    const subtype = fields.files ? { subtype: 'file_share' } : {};
    this.sendEvent({ type: 'message', channel_type: fields.channel.startsWith('D') ? 'im' : 'channel', ...subtype, ...fields, ts, event_ts: ts });
    return ts;
  }

  /** Slack asks the client to reconnect (it is moving the connection). */
  disconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake' } }));
  }

  /** The connection drops without a word. */
  drop(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.drop();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Slack's message ids are the time it took the message, made unique in the microseconds. */
  private ts(): string {
    this.lastTs = Math.max(this.lastTs + 1, Date.now() * 1000);
    return `${Math.floor(this.lastTs / 1e6)}.${String(this.lastTs % 1e6).padStart(6, '0')}`;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'GET' && url.pathname.startsWith('/files-pri/')) return this.download(req, res, url);
    if (url.pathname.startsWith('/upload/')) return this.receiveUpload(req, res, url, body);
    const method = url.pathname.replace(/^\/api\//, '');
    this.calls.push(method);
    const failure = this.failures.get(method)?.shift();
    if (failure && 'status' in failure) return void res.writeHead(429, { 'retry-after': String(failure.retryAfter) }).end();
    const args = Object.fromEntries(new URLSearchParams(body.toString())) as Record<string, string>;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || args.token;
    const answer = failure ? { ok: false, error: failure.error } : this.answer(method, args, token, url);
    if (method === 'chat.postMessage' && (answer as { ok: boolean }).ok) await this.onAccepted?.(this.posted.at(-1)!);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }

  private answer(method: string, args: Record<string, string>, token: string, url: URL): object {
    const wants = method === 'apps.connections.open' ? APP_TOKEN : BOT_TOKEN;
    if (this.revoked.has(token) || (token !== APP_TOKEN && token !== BOT_TOKEN)) return { ok: false, error: 'invalid_auth' };
    if (token !== wants) return { ok: false, error: 'not_allowed_token_type' };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.com/', team: 'Fake Team', user: 'andy', team_id: 'T1', user_id: BOT_USER, bot_id: 'B1' };
      case 'bots.info':
        return { ok: true, bot: { id: args.bot, app_id: this.botAppId, user_id: BOT_USER, name: 'andy' } };
      case 'apps.connections.open':
        if (this.holdConnections) return { ok: false, error: 'internal_error' };
        return { ok: true, url: `ws://${url.host}/link/?ticket=t${this.nextId++}&app_id=${APP_ID}` };
      case 'chat.postMessage':
        return this.post(args);
      case 'chat.postEphemeral':
        this.ephemerals.push({ channel: args.channel, user: args.user, text: args.text });
        return { ok: true, message_ts: this.ts() };
      case 'conversations.info': {
        const name = this.channels.get(args.channel);
        return name ? { ok: true, channel: { id: args.channel, name, is_channel: true } } : { ok: false, error: 'channel_not_found' };
      }
      case 'users.info': {
        const name = this.users.get(args.user);
        return name ? { ok: true, user: { id: args.user, name: name.toLowerCase(), real_name: name, profile: { display_name: name } } } : { ok: false, error: 'user_not_found' };
      }
      case 'reactions.add':
      case 'reactions.remove':
        this.reactions.push({ how: method === 'reactions.add' ? 'add' : 'remove', channel: args.channel, timestamp: args.timestamp, name: args.name });
        return { ok: true };
      case 'files.getUploadURLExternal': {
        const id = `F${this.nextId++}`;
        this.uploadIds.set(id, this.uploads.push({ filename: args.filename, data: Buffer.alloc(0) }) - 1);
        return { ok: true, upload_url: `${this.origin}/upload/${id}/${this.uploads.length - 1}`, file_id: id };
      }
      case 'files.completeUploadExternal':
        return this.completeUpload(args);
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private post(args: Record<string, string>): object {
    if (!this.channels.has(args.channel) && !args.channel.startsWith('D')) return { ok: false, error: 'channel_not_found' };
    const ts = this.ts();
    const blocks = args.blocks ? (JSON.parse(args.blocks) as { elements?: { text: { text: string }; action_id: string }[] }[]) : [];
    const buttons = blocks.flatMap((b) => b.elements ?? []).map((e): [string, string] => [e.text.text, e.action_id]);
    this.posted.push({ channel: args.channel, text: args.text, thread_ts: args.thread_ts, username: args.username, ts, at: performance.now(), ...(buttons.length ? { buttons } : {}) });
    return { ok: true, channel: args.channel, ts, message: { text: args.text, ts } };
  }

  private async receiveUpload(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const index = Number(url.pathname.split('/')[3]);
    const form = await new Request(url, { method: 'POST', headers: req.headers as Record<string, string>, body: new Uint8Array(body) }).formData().catch(() => undefined);
    const part = form ? [...form.values()].find((v) => typeof v !== 'string') : undefined;
    this.uploads[index].data = part ? Buffer.from(await (part as Blob).arrayBuffer()) : body;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK - 0');
  }

  private completeUpload(args: Record<string, string>): object {
    const files = JSON.parse(args.files) as { id: string; title?: string }[];
    const upload = this.uploads[this.uploadIds.get(files[0].id) ?? -1];
    if (!upload) return { ok: false, error: 'file_not_found' };
    Object.assign(upload, { channel_id: args.channel_id, thread_ts: args.thread_ts, initial_comment: args.initial_comment });
    return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title })) };
  }

  private download(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const data = this.files.get(url.pathname.split('/')[2]);
    // Slack answers a missing or wrong token with a redirect to its login page, not an error code.
    if (req.headers.authorization !== `Bearer ${BOT_TOKEN}`) return void res.writeHead(302, { location: 'https://fake.slack.com/?redir=login' }).end();
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length }).end(data);
  }
}
