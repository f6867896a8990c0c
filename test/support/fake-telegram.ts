// A fake Telegram Bot API server: enough of the real protocol for grammY to run against it unchanged (apiRoot).
// POST /bot<token>/<method> with JSON or multipart bodies, answers { ok, result } or Telegram's error shapes
// with the same HTTP status (401, 403, 409, 429 with parameters.retry_after, 400 "can't parse entities"),
// getUpdates long polling with offsets, file downloads at /file/bot<token>/<path>. HTML sent with parse_mode
// is checked the way Telegram does (known tags, balanced, entities), so escaping bugs fail here as they would
// there. It records every call, and can go off the network and come back on the same port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Chat, Message, Update, User } from 'grammy/types';

export const TOKEN = '7000001:AAFakeTokenForTestsOnly_0123456789';
export const BOT: User = { id: 7000001, is_bot: true, first_name: 'Carapace', username: 'carapace_test_bot' };

export interface SentMessage {
  method: string;
  chatId: number;
  threadId?: number;
  text?: string;
  caption?: string;
  parseMode?: string;
  file?: { name: string; data: Buffer };
  messageId: number;
  at: number;
  /** The inline keyboard, as [label, callback data]. */
  buttons?: [string, string][];
}

type Reply = { status: number; body: Record<string, unknown> };
const error = (status: number, description: string, parameters?: Record<string, unknown>): Reply => ({
  status,
  body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
});
const ok = (result: unknown): Reply => ({ status: 200, body: { ok: true, result } });

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'code', 'pre', 'a', 'blockquote', 'tg-spoiler', 'span', 'tg-emoji']);
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Telegram's HTML check: the visible text, or the 400 description it would answer. */
export function parseHtml(html: string): { text: string } | { error: string } {
  const stack: string[] = [];
  let text = '';
  let last = 0;
  for (const m of html.matchAll(/<(\/?)([a-zA-Z-]*)[^<>]*>|&([a-zA-Z]+|#\d+);|[<>&]/g)) {
    text += html.slice(last, m.index);
    last = m.index + m[0].length;
    const at = Buffer.byteLength(html.slice(0, m.index));
    if (m[3] !== undefined) {
      const ch = m[3].startsWith('#') ? String.fromCodePoint(Number(m[3].slice(1))) : ENTITIES[m[3]];
      if (ch === undefined) return { error: `Bad Request: can't parse entities: Unsupported HTML entity "&${m[3]};" at byte offset ${at}` };
      text += ch;
    } else if (m[2] !== undefined && m[0].length > 1) {
      const name = m[2].toLowerCase();
      if (!HTML_TAGS.has(name)) return { error: `Bad Request: can't parse entities: Unsupported start tag "${name}" at byte offset ${at}` };
      if (!m[1]) stack.push(name);
      else if (stack.pop() !== name) return { error: `Bad Request: can't parse entities: Unexpected end tag at byte offset ${at}` };
    } else if (m[0] !== '&') {
      return { error: `Bad Request: can't parse entities: Unexpected ${m[0] === '<' ? 'start' : 'end'} tag at byte offset ${at}` };
    } else text += '&';
  }
  if (stack.length) return { error: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { text: text + html.slice(last) };
}

export class FakeTelegram {
  url = '';
  readonly sent: SentMessage[] = [];
  readonly actions: { chatId: number; action: string; threadId?: number }[] = [];
  /** Every method called, in order (getUpdates included). */
  readonly calls: string[] = [];
  /** sendMessage/sendPhoto/sendDocument calls answered 429 before any is accepted. */
  rateLimit = { remaining: 0, retryAfter: 1 };
  conflict = false;
  /** Set by setWebhook: updates are then posted there, and getUpdates is refused. */
  webhook: { url: string; secret?: string } | undefined;
  /** What webhook posts were answered with. */
  readonly webhookStatuses: number[] = [];
  /** Chats that removed or blocked the bot: 403. */
  readonly blocked = new Set<number>();
  /** Awaited after a message was accepted (recorded), before the answer goes out: a test kills the client here. */
  onAccepted?: (sent: SentMessage) => Promise<void>;
  /** answerCallbackQuery calls: the toast each button press got. */
  readonly callbackAnswers: { id: string; text?: string }[] = [];
  private nextCallbackId = 1;
  private readonly updates: Update[] = [];
  private readonly files = new Map<string, { path: string; data: Buffer }>();
  private readonly waiting = new Set<() => void>();
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private port = 0;
  private readonly server = http.createServer((req, res) => void this.serve(req, res));

  async start(): Promise<this> {
    await this.listen();
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  private listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.port, '127.0.0.1', () => {
      this.port = (this.server.address() as AddressInfo).port;
      resolve();
    }));
  }

  /** Off the network: the port refuses connections, open requests are cut. */
  async goOffline(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }

  async goOnline(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    for (const wake of this.waiting) wake();
    if (this.server.listening) await this.goOffline();
  }

  /** Queue an update for getUpdates; returns its update_id. */
  push(update: Omit<Update, 'update_id'>): number {
    const full = { update_id: this.nextUpdateId++, ...update } as Update;
    if (this.webhook) {
      void this.post(this.webhook, full);
      return full.update_id;
    }
    this.updates.push(full);
    for (const wake of this.waiting) wake();
    return full.update_id;
  }

  /** Deliver an update to the webhook as Telegram does (with its secret header); records the answer's status. */
  async post(hook: { url: string; secret?: string }, update: Update): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(hook.secret ? { 'x-telegram-bot-api-secret-token': hook.secret } : {}) };
    const res = await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(update) });
    this.webhookStatuses.push(res.status);
    return res.status;
  }

  /** `from` presses the inline button with `data` under `message` (a callback_query update); returns the query id. */
  press(message: SentMessage, from: User, data: string): string {
    const id = `cq${this.nextCallbackId++}`;
    const chat = { id: message.chatId, type: message.chatId < 0 ? 'supergroup' : 'private' } as Chat;
    const pressed = { message_id: message.messageId, date: Math.floor(Date.now() / 1000), chat, text: message.text } as Message;
    this.push({ callback_query: { id, from, chat_instance: `ci${message.chatId}`, message: pressed, data } } as Omit<Update, 'update_id'>);
    return id;
  }

  /** A message from `from` in `chat` (text, or any other fields), pushed as an update; returns the message. */
  receive(chat: Chat, from: User, fields: Partial<Message>, kind: 'message' | 'edited_message' = 'message'): Message {
    const message = { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat, from, ...fields } as Message;
    this.push({ [kind]: message } as Omit<Update, 'update_id'>);
    return message;
  }

  /** A file Telegram holds, for getFile and its download; returns its file_id. */
  addFile(data: Buffer, path: string): string {
    const id = `file-${this.files.size + 1}`;
    this.files.set(id, { path, data });
    return id;
  }

  sentTo(chatId: number): SentMessage[] {
    return this.sent.filter((s) => s.chatId === chatId);
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) return this.download(file[1], file[2], res);
    const call = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    const body = await readBody(req);
    const reply = !call ? error(404, 'Not Found') : call[1] !== TOKEN ? error(401, 'Unauthorized') : await this.answer(call[2], body, req);
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  private download(token: string, path: string, res: http.ServerResponse): void {
    const found = [...this.files.values()].find((f) => f.path === path);
    if (token !== TOKEN || !found) res.writeHead(404).end();
    else res.writeHead(200, { 'content-length': found.data.length }).end(found.data);
  }

  private async answer(method: string, p: Record<string, unknown>, req: http.IncomingMessage): Promise<Reply> {
    this.calls.push(method);
    switch (method) {
      case 'getMe':
        return ok(BOT);
      case 'deleteWebhook':
        this.webhook = undefined;
        return ok(true);
      case 'setWebhook':
        this.webhook = { url: String(p.url), secret: p.secret_token as string | undefined };
        return ok(true);
      case 'getWebhookInfo':
        return ok({ url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: 0 });
      case 'getUpdates':
        return this.getUpdates(p, req);
      case 'sendChatAction':
        this.actions.push({ chatId: Number(p.chat_id), action: String(p.action), threadId: optionalNumber(p.message_thread_id) });
        return ok(true);
      case 'getFile': {
        const found = this.files.get(String(p.file_id));
        if (!found) return error(400, 'Bad Request: invalid file_id');
        return ok({ file_id: p.file_id, file_unique_id: `u-${p.file_id}`, file_size: found.data.length, file_path: found.path });
      }
      case 'answerCallbackQuery':
        this.callbackAnswers.push({ id: String(p.callback_query_id), text: p.text as string | undefined });
        return ok(true);
      case 'sendMessage':
      case 'sendPhoto':
      case 'sendDocument': {
        const reply = await this.send(method, p);
        if (reply.status === 200) await this.onAccepted?.(this.sent.at(-1)!);
        return reply;
      }
      default:
        return error(404, 'Not Found: method not found');
    }
  }

  private async getUpdates(p: Record<string, unknown>, req: http.IncomingMessage): Promise<Reply> {
    if (this.webhook) return error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    if (this.conflict) return error(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    const offset = Number(p.offset ?? 0);
    while (this.updates.length && this.updates[0].update_id < offset) this.updates.shift();
    if (!this.updates.length) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiting.delete(wake);
          req.socket.off('close', wake); // keep-alive sockets carry many polls
          resolve();
        };
        const timer = setTimeout(wake, Number(p.timeout ?? 0) * 1000);
        this.waiting.add(wake);
        req.socket.once('close', wake);
      });
    }
    return ok(this.updates.filter((u) => u.update_id >= offset).slice(0, Number(p.limit ?? 100)));
  }

  private send(method: string, p: Record<string, unknown>): Reply {
    const chatId = Number(p.chat_id);
    if (this.blocked.has(chatId)) return error(403, chatId < 0 ? 'Forbidden: bot was kicked from the supergroup chat' : 'Forbidden: bot was blocked by the user');
    if (this.rateLimit.remaining > 0) {
      this.rateLimit.remaining--;
      return error(429, `Too Many Requests: retry after ${this.rateLimit.retryAfter}`, { retry_after: this.rateLimit.retryAfter });
    }
    const raw = (p.text ?? p.caption) as string | undefined;
    let shown = raw;
    if (raw !== undefined && p.parse_mode === 'HTML') {
      const parsed = parseHtml(raw);
      if ('error' in parsed) return error(400, parsed.error);
      shown = parsed.text;
    }
    if (method === 'sendMessage' && !shown?.trim()) return error(400, 'Bad Request: message text is empty');
    if ((shown?.length ?? 0) > (method === 'sendMessage' ? 4096 : 1024)) return error(400, `Bad Request: ${method === 'sendMessage' ? 'message' : 'message caption'} is too long`);
    const fileField = p.photo ?? p.document;
    const file = fileField instanceof File ? fileField : undefined;
    const messageId = this.nextMessageId++;
    this.sent.push({
      method,
      chatId,
      threadId: optionalNumber(p.message_thread_id),
      text: p.text as string | undefined,
      caption: p.caption as string | undefined,
      parseMode: p.parse_mode as string | undefined,
      file: file ? { name: file.name, data: Buffer.from(file.data) } : undefined,
      messageId,
      at: performance.now(),
      buttons: buttonsOf(p.reply_markup),
    });
    return ok({ message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' }, text: p.text });
  }
}

/** A multipart file field, read whole. */
class File {
  constructor(
    readonly name: string,
    readonly data: Uint8Array,
  ) {}
}

/** The inline keyboard's buttons as [label, callback data], row after row (JSON, or a string in multipart). */
function buttonsOf(markup: unknown): [string, string][] | undefined {
  const parsed = typeof markup === 'string' ? JSON.parse(markup) : markup;
  const rows = (parsed as { inline_keyboard?: { text: string; callback_data?: string }[][] } | undefined)?.inline_keyboard;
  return rows?.flat().map((b) => [b.text, b.callback_data ?? '']);
}

const optionalNumber = (v: unknown) => (v === undefined ? undefined : Number(v));

/** JSON or multipart (grammY sends files as multipart; other fields then come as strings). */
async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (!raw.length) return {};
  if (type.startsWith('application/json')) return JSON.parse(raw.toString('utf8'));
  const boundary = /boundary=(.+)$/.exec(type)?.[1];
  return boundary ? parseMultipart(raw, boundary) : {};
}

/**
 * multipart/form-data as the Bot API takes it: fields, and files that a field names as "attach://<part name>"
 * (grammY's way) or that sit in the field itself.
 */
function parseMultipart(raw: Buffer, boundary: string): Record<string, unknown> {
  const parts: Record<string, string | File> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let at = raw.indexOf(delimiter);
  while (at >= 0) {
    const next = raw.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = raw.subarray(at + delimiter.length + 2, next - 2); // past "\r\n", before "\r\n--"
    const split = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, split).toString('utf8');
    const body = part.subarray(split + 4);
    const name = /name="([^"]+)"/i.exec(headers)?.[1];
    const fileName = /filename="?([^";\r\n]+)"?/i.exec(headers)?.[1];
    if (name) parts[name] = fileName ? new File(fileName, new Uint8Array(body)) : body.toString('utf8');
    at = next;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parts)) {
    const attached = typeof value === 'string' && value.startsWith('attach://') ? parts[value.slice(9)] : undefined;
    out[key] = attached ?? value;
  }
  return out;
}

/** Chats and people for tests. */
export const people = {
  olga: { id: 111, is_bot: false, first_name: 'Olga', last_name: 'Owner' } satisfies User,
  bob: { id: 222, is_bot: false, first_name: 'Bob' } satisfies User,
  eve: { id: 666, is_bot: false, first_name: 'Eve' } satisfies User,
};
export const dmWith = (u: User): Chat => ({ id: u.id, type: 'private', first_name: u.first_name } as Chat);
export const supergroup = (id: number, title: string, isForum = false): Chat => ({ id, type: 'supergroup', title, ...(isForum ? { is_forum: true } : {}) } as Chat);
