// A fake of the part of WhatsApp the adapter touches: a socket implementing the subset of Baileys' socket we use
// (events carry Baileys' own types), a switchable "network", and a media CDN that serves files encrypted with
// Baileys' own media encryption so the real download-and-decrypt path runs.
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Boom } from '@hapi/boom';
import {
  encryptedStream,
  type AnyMessageContent,
  type BaileysEventEmitter,
  type BaileysEventMap,
  type Contact,
  type GroupMetadata,
  type MiscMessageGenerationOptions,
  type proto,
  type WAMessage,
} from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { SocketFactory, WASocketLike } from '../../src/channels/whatsapp/socket.js';
import { WhatsAppChannel, type WhatsAppChannelOptions } from '../../src/channels/whatsapp/whatsapp-channel.js';
import { whatsappOptions } from '../../src/channels/whatsapp/plugin.js';
import type { Config } from '../../src/config.js';

export const OWNER_PN = '4915100000001';
export const OWNER: Contact = { id: `${OWNER_PN}:7@s.whatsapp.net`, lid: '99900000001:7@lid', name: 'Olga Owner' };

export interface SentMessage {
  jid: string;
  content: AnyMessageContent;
  options?: MiscMessageGenerationOptions;
  socket: number;
}

/** Baileys closes a socket with a Boom carrying a DisconnectReason status code. */
export const closeError = (statusCode: number, message = 'Connection Failure') => new Boom(message, { statusCode });

export class FakeSocket implements WASocketLike {
  readonly ev = new EventEmitter() as unknown as BaileysEventEmitter;
  user: Contact | undefined;
  closed = false;
  readonly signalRepository: WASocketLike['signalRepository'];

  constructor(
    private readonly wa: FakeWhatsApp,
    readonly index: number,
  ) {
    this.signalRepository = { lidMapping: { getPNForLID: async (lid: string) => wa.lidToPn.get(lid) ?? null } };
  }

  emit<E extends keyof BaileysEventMap>(event: E, arg: BaileysEventMap[E]): void {
    if (!this.closed) this.ev.emit(event, arg);
  }

  /** What the real socket does some time after it is made: fail (network down), ask for pairing, or log in. */
  boot(): void {
    setTimeout(() => {
      if (this.closed) return;
      if (this.wa.network === 'down') {
        void this.end(closeError(408, 'getaddrinfo ENOTFOUND web.whatsapp.com'));
      } else if (!this.wa.paired) {
        this.emit('connection.update', { connection: 'connecting' });
        this.emit('connection.update', { qr: `2@fake-qr-${this.index}-1` });
      } else {
        this.open();
      }
    }, this.wa.connectDelayMs);
  }

  open(): void {
    this.user = this.wa.me;
    this.emit('connection.update', { connection: 'open' });
  }

  async end(error: Error | undefined): Promise<void> {
    if (this.closed) return;
    this.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.closed = true;
  }

  /** A close event from a socket that already closed (Baileys guards against this; we must not rely on it). */
  closeAgain(error: Error): void {
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }

  sendMessage = async (jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage> => {
    if (this.closed || this.wa.network === 'down') throw closeError(428, 'Connection Closed');
    const failure = this.wa.sendFailures.shift();
    if (failure) throw failure;
    this.wa.sent.push({ jid, content, options, socket: this.index });
    const message: WAMessage = {
      key: { remoteJid: jid, fromMe: true, id: options?.messageId ?? `3EB0FAKE${this.wa.sent.length}` },
      message: 'text' in content ? { extendedTextMessage: { text: content.text } } : { documentMessage: {} },
      messageTimestamp: Math.floor(Date.now() / 1000),
    };
    // Baileys emits our own messages back (emitOwnEvents).
    queueMicrotask(() => this.emit('messages.upsert', { messages: [message], type: 'append' }));
    this.wa.onSent?.(this.wa.sent.at(-1)!);
    return message;
  };

  sendPresenceUpdate = async (type: 'available' | 'composing' | 'paused' | 'unavailable' | 'recording', jid?: string) => {
    if (this.closed) throw closeError(428, 'Connection Closed');
    this.wa.presences.push({ type, jid, at: Date.now() });
  };

  groupFetchAllParticipating = async (): Promise<{ [id: string]: GroupMetadata }> => {
    this.wa.groupFetches++;
    return Object.fromEntries(this.wa.groups.map((g) => [g.id, g]));
  };

  requestPairingCode = async (phone: string): Promise<string> => {
    this.wa.pairingRequests.push(phone);
    return 'FAKE1234';
  };

  updateMediaMessage = async (message: WAMessage): Promise<WAMessage> => message;
}

export class FakeWhatsApp {
  readonly sockets: FakeSocket[] = [];
  network: 'up' | 'down' = 'up';
  paired = true;
  connectDelayMs = 0;
  me: Contact = OWNER;
  groups: GroupMetadata[] = [];
  readonly lidToPn = new Map<string, string>();
  readonly sent: SentMessage[] = [];
  readonly presences: { type: string; jid?: string; at: number }[] = [];
  readonly pairingRequests: string[] = [];
  /** Errors the next sendMessage calls throw, in order. */
  readonly sendFailures: Error[] = [];
  groupFetches = 0;
  onSent?: (m: SentMessage) => void;

  readonly factory: SocketFactory = async () => {
    const socket = new FakeSocket(this, this.sockets.length);
    this.sockets.push(socket);
    socket.boot();
    return socket;
  };

  get current(): FakeSocket {
    const s = this.sockets.at(-1);
    if (!s) throw new Error('no socket yet');
    return s;
  }

  /**
   * The phone scans the QR code (or takes the pairing code): Baileys stores the new login, reports a new login
   * and the server asks for a restart (515), after which the next socket logs in.
   */
  scan(authDir: string): void {
    this.paired = true;
    mkdirSync(authDir, { recursive: true });
    writeFileSync(join(authDir, 'creds.json'), JSON.stringify({ account: { details: 'signed' }, me: { id: this.me.id, name: this.me.name }, registered: true }));
    this.current.emit('connection.update', { isNewLogin: true, qr: undefined });
    void this.current.end(closeError(515, 'Stream Errored (restart required)'));
  }

  /** Deliver messages the way Baileys does: a messages.upsert on the live socket. */
  receive(messages: WAMessage[], type: 'notify' | 'append' = 'notify'): void {
    this.current.emit('messages.upsert', { messages, type });
  }

  texts(): string[] {
    return this.sent.map((m) => ('text' in m.content ? m.content.text : `[${Object.keys(m.content)[0]}]`));
  }
}

/** The real WhatsApp channel, configured like the app does it, over the fake (with quick reconnects). */
export function fakeWhatsAppChannel(wa: FakeWhatsApp, config: Config, log: Logger, extra: Partial<WhatsAppChannelOptions> = {}) {
  return new WhatsAppChannel({
    ...whatsappOptions(config, log),
    factory: wa.factory,
    backoff: { baseMs: 50, maxMs: 200, stableMs: 1000 },
    ...extra,
  });
}

let messageCounter = 0;

/** A WAMessage as Baileys hands it over: key, push name, timestamp in seconds, message content. */
export function waMessage(opts: {
  chat: string;
  from?: string;
  fromAlt?: string;
  chatAlt?: string;
  fromMe?: boolean;
  pushName?: string;
  message: proto.IMessage;
  id?: string;
  at?: number;
}): WAMessage {
  const group = opts.chat.endsWith('@g.us');
  return {
    key: {
      remoteJid: opts.chat,
      remoteJidAlt: group ? undefined : opts.chatAlt,
      fromMe: opts.fromMe ?? false,
      id: opts.id ?? `3A${(++messageCounter).toString(16).toUpperCase().padStart(18, '0')}`,
      participant: group ? opts.from : undefined,
      participantAlt: group ? opts.fromAlt : undefined,
    },
    pushName: opts.pushName,
    messageTimestamp: Math.floor((opts.at ?? Date.now()) / 1000),
    message: opts.message,
  };
}

export function groupMetadata(id: string, subject: string, participants: string[] = []): GroupMetadata {
  return { id, subject, owner: undefined, participants: participants.map((p) => ({ id: p })) };
}

/** A stand-in for WhatsApp's media servers: serves files encrypted the way WhatsApp stores them. */
export class FakeMediaCdn {
  private server: Server | undefined;
  private readonly files = new Map<string, Buffer>();
  requests = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests++;
      const body = this.files.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Encrypt `data` as WhatsApp media of `type` and describe it the way a message does. */
  async upload(data: Buffer, type: 'image' | 'video' | 'audio' | 'document', name: string) {
    const enc = await encryptedStream(data, type);
    this.files.set(`/${name}`, readFileSync(enc.encFilePath));
    rmSync(enc.encFilePath, { force: true });
    const { port } = this.server!.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/${name}`,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
    };
  }
}
