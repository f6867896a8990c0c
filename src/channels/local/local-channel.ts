// The embedded default chat: a small HTTP server on loopback that serves the chat page
// and a token-protected JSON + Server-Sent-Events API (also used by `carapace chat`).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Card, Channel, ChannelHealth, ChannelHost, InboundSink, PairingPanel, SendOptions } from '../channel.js';
import { sameSecret } from '../../secret-compare.js';
import type { ConsoleApi } from './console-api.js';
import { COMMON_HEADERS, readBody, sendJson } from './http.js';
import { serveStatic } from './static-files.js';

export const OWNER_CHAT_ID = 'local:owner';

export interface ChatLine {
  id: string;
  from: 'user' | 'assistant';
  senderName: string;
  text: string;
  timestamp: number;
}

export interface LocalChannelOptions {
  /** Defaults to 127.0.0.1: the API is for the owner's machine only. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  token: string;
  ownerName?: string;
  /** Shown as the sender of replies on live clients; defaults to "Assistant". */
  assistantName?: string;
  history: (chatId: string, limit: number) => ChatLine[];
  maxMessageChars?: number;
  /** The channel whose pairing the page shows (WhatsApp's QR code and "connect again"), when it is enabled. */
  pairing?: PairingPanel;
  /** The platform channels' connection state (`carapace status`, `channel list`). */
  channelHealth?: () => Record<string, ChannelHealth>;
  /** `carapace channel add|remove` asks the running assistant to connect or drop bot channels. */
  onReloadChannels?: () => Promise<void>;
  /** `carapace` CLI commands that changed the store ask the running assistant to look again. */
  onWake?: () => void;
  /** The web console's API (groups, runs, tasks, spend, egress, pairing) under /api/console/. */
  console?: ConsoleApi;
}

interface Subscriber {
  res: ServerResponse;
  chatId: string;
  clientId?: string;
}

const PING_MS = 15_000;

export class LocalChannel implements Channel {
  readonly name = 'local';
  /** The owner's way in that always works: answered in its own folder when the main group moves elsewhere. */
  readonly fallbackFolder = 'local';
  private readonly host: string;
  private readonly maxChars: number;
  private readonly subscribers = new Set<Subscriber>();
  private server?: Server;
  private sink?: InboundSink;
  private channelHost?: ChannelHost;
  private pingTimer?: NodeJS.Timeout;
  private unwatchWhatsApp?: () => void;
  private unwatchBoard?: () => void;
  private seq = 0;

  constructor(private readonly opts: LocalChannelOptions) {
    if (!opts.token) throw new Error('LocalChannel needs a non-empty token');
    this.host = opts.host ?? '127.0.0.1';
    this.maxChars = opts.maxMessageChars ?? 32_000;
  }

  owns(chatId: string): boolean {
    return chatId.startsWith('local:');
  }

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    if (this.server) throw new Error('LocalChannel is already connected');
    this.sink = sink;
    this.channelHost = host;
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'Internal error' });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    // Comment frames keep idle streams open through proxies and reveal dead sockets.
    this.pingTimer = setInterval(() => this.broadcast(': ping\n\n'), PING_MS).unref();
    this.unwatchWhatsApp = this.opts.pairing?.onStatusChange((view) =>
      this.broadcast(`event: whatsapp\ndata: ${JSON.stringify(view)}\n\n`),
    );
    this.unwatchBoard = this.opts.console?.subscribe((frame) => this.broadcast(frame));
  }

  address(): { host: string; port: number; url: string } {
    const info = this.server?.address() as AddressInfo | null | undefined;
    if (!info) throw new Error('LocalChannel is not connected');
    const hostPart = info.address.includes(':') ? `[${info.address}]` : info.address;
    return { host: info.address, port: info.port, url: `http://${hostPart}:${info.port}/` };
  }

  async disconnect(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    clearInterval(this.pingTimer);
    this.unwatchWhatsApp?.();
    this.unwatchBoard?.();
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // don't wait for keep-alive sockets or streaming clients
    });
  }

  async send(chatId: string, text: string, options?: SendOptions): Promise<string> {
    if (!this.owns(chatId)) throw new Error(`LocalChannel does not own chat ${chatId}`);
    const id = this.nextId();
    const senderName = options?.sender ?? this.opts.assistantName ?? 'Assistant';
    this.emit(chatId, 'reply', { id, text, timestamp: Date.now(), senderName });
    return id;
  }

  /** A card is a reply with buttons: the page shows them and posts the pressed one to /api/cards. */
  async sendCard(chatId: string, card: Card): Promise<string> {
    if (!this.owns(chatId)) throw new Error(`LocalChannel does not own chat ${chatId}`);
    const id = this.nextId();
    const senderName = this.opts.assistantName ?? 'Assistant';
    this.emit(chatId, 'card', { id, card, timestamp: Date.now(), senderName });
    return id;
  }

  async setTyping(chatId: string, typing: boolean): Promise<void> {
    if (this.owns(chatId)) this.emit(chatId, 'typing', { typing });
  }

  private nextId(): string {
    return `local-${Date.now()}-${++this.seq}`;
  }

  private emit(chatId: string, event: string, data: unknown, exceptClient?: string): void {
    // JSON.stringify escapes newlines, so one `data:` line always suffices.
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const sub of this.subscribers) {
      if (sub.chatId === chatId && (exceptClient === undefined || sub.clientId !== exceptClient)) sub.res.write(frame);
    }
  }

  private broadcast(raw: string): void {
    for (const sub of this.subscribers) sub.res.write(raw);
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = bearer ?? url.searchParams.get('token');
    if (!given) return false;
    return sameSecret(given, this.opts.token);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /favicon.ico') {
      res.writeHead(204, COMMON_HEADERS).end(); // browsers ask; an empty answer keeps their console clean
      return;
    }
    if (req.method === 'GET' && serveStatic(url.pathname, res)) return;
    if (url.pathname.startsWith('/api/') && !this.authorized(req, url)) {
      return sendJson(res, 401, { error: 'Missing or wrong access token' });
    }
    if (url.pathname.startsWith('/api/console/') && this.opts.console) return this.opts.console.handle(req, res, url);
    switch (route) {
      case 'POST /api/messages':
        return this.postMessage(req, res);
      case 'GET /api/events':
        return this.openEvents(req, res, url);
      case 'POST /api/cards':
        return this.answerCard(req, res);
      case 'POST /api/wake':
        this.opts.onWake?.();
        return sendJson(res, 202, { ok: true });
      case 'GET /api/history': {
        const limit = Math.min(Math.max(Number.parseInt(url.searchParams.get('limit') ?? '', 10) || 50, 1), 500);
        return sendJson(res, 200, { messages: this.opts.history(OWNER_CHAT_ID, limit) });
      }
      case 'GET /api/channels':
        return sendJson(res, 200, this.opts.channelHealth?.() ?? {});
      case 'POST /api/channels/reload':
        return void this.reloadChannels(res);
      case 'GET /api/whatsapp':
        return sendJson(res, 200, this.opts.pairing?.status() ?? { status: 'disabled', detail: 'WhatsApp is not enabled' });
      case 'GET /api/whatsapp/qr.svg':
        return this.whatsappQr(res);
      case 'POST /api/whatsapp/connect':
        return this.whatsappConnect(req, res);
      default:
        return sendJson(res, 404, { error: 'Not found' });
    }
  }

  private async postMessage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Worst case a character costs 6 bytes as a JSON \u escape; the slack covers the other fields.
    const raw = await readBody(req, this.maxChars * 6 + 4096);
    if (raw === undefined) {
      return sendJson(res, 413, { error: `Message is too long (limit ${this.maxChars} characters)` }, true);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { error: 'Body must be JSON like {"text": "..."}' });
    }
    const { text, senderName, clientId } = (body ?? {}) as Record<string, unknown>;
    if (typeof text !== 'string' || text.trim() === '') {
      return sendJson(res, 400, { error: '"text" must be a non-empty string' });
    }
    if (text.length > this.maxChars) {
      return sendJson(res, 413, {
        error: `Message is too long: ${text.length} characters (limit ${this.maxChars})`,
      });
    }
    const name =
      (typeof senderName === 'string' && senderName.trim().slice(0, 100)) || this.opts.ownerName || 'Owner';
    const id = this.nextId();
    const timestamp = Date.now();
    this.sink?.({ chatId: OWNER_CHAT_ID, platformId: id, senderId: OWNER_CHAT_ID, senderName: name, text, timestamp });
    // Keep other open tabs / terminals in sync; the poster already shows its own message.
    const from = typeof clientId === 'string' ? clientId : undefined;
    this.emit(OWNER_CHAT_ID, 'message', { id, from: 'user', senderName: name, text, timestamp }, from);
    sendJson(res, 202, { id, senderName: name, timestamp });
  }

  /** A card's button, pressed by whoever holds the access token: the owner. */
  private async answerCard(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { cardId?: unknown; choice?: unknown } = {};
    try {
      body = JSON.parse((await readBody(req, 4096)) || '{}');
    } catch {
      return sendJson(res, 400, { error: 'Body must be JSON like {"cardId": "3", "choice": "once"}' });
    }
    if (typeof body.cardId !== 'string' || typeof body.choice !== 'string') return sendJson(res, 400, { error: '"cardId" and "choice" must be strings' });
    if (!this.channelHost) return sendJson(res, 409, { error: 'Cards cannot be answered until Carapace has started' });
    const text = await this.channelHost.answer(body.cardId, body.choice, { channel: this.name, userId: OWNER_CHAT_ID });
    sendJson(res, 200, { text });
  }

  private async reloadChannels(res: ServerResponse): Promise<void> {
    try {
      await this.opts.onReloadChannels?.();
      sendJson(res, 200, this.opts.channelHealth?.() ?? {});
    } catch (err) {
      sendJson(res, 500, { error: `Could not reload the channels: ${(err as Error).message}` });
    }
  }

  /** The current pairing QR code as an image (served, not inlined, so the page's CSP stays strict). */
  private async whatsappQr(res: ServerResponse): Promise<void> {
    const qr = this.opts.pairing?.status().qr;
    if (!qr) return sendJson(res, 404, { error: 'No QR code to show right now' });
    const { default: QRCode } = await import('qrcode');
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'image/svg+xml' });
    res.end(await QRCode.toString(qr, { type: 'svg', margin: 2 }));
  }

  private async whatsappConnect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const panel = this.opts.pairing;
    if (!panel) return sendJson(res, 409, { error: 'WhatsApp is not enabled: set WHATSAPP_ENABLED=1 and restart Carapace' });
    const raw = (await readBody(req, 4096)) || '{}';
    let phone: unknown;
    try {
      phone = (JSON.parse(raw) as { phone?: unknown }).phone;
    } catch {
      return sendJson(res, 400, { error: 'Body must be JSON like {"phone": "4915112345678"} or {}' });
    }
    const digits = typeof phone === 'string' ? phone.replace(/[\s()+-]/g, '') : undefined;
    if (phone !== undefined && (!digits || !/^\d{6,15}$/.test(digits))) {
      return sendJson(res, 400, { error: 'phone must be the full number with country code, digits only (e.g. 4915112345678)' });
    }
    panel.reconnect({ pairingPhone: digits });
    sendJson(res, 202, panel.status());
  }

  private openEvents(req: IncomingMessage, res: ServerResponse, url: URL): void {
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n'); // flushes the headers and sets the browser's reconnect delay
    const sub: Subscriber = { res, chatId: OWNER_CHAT_ID, clientId: url.searchParams.get('client') ?? undefined };
    this.subscribers.add(sub);
    req.socket.setNoDelay(true);
    res.on('close', () => this.subscribers.delete(sub));
  }
}
