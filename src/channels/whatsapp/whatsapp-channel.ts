// The WhatsApp channel: composes the connection, inbound translation, outbound sending, typing and group
// metadata sync into Carapace's Channel interface. Chat ids are "wa:<jid>".
import { randomUUID } from 'node:crypto';
import type { BaileysEventMap, GroupMetadata } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import {
  ChannelUnavailableError,
  type Channel,
  type ChannelHealth,
  type ChannelHost,
  type ChatInfo,
  type InboundSink,
  type OutboundFile,
  type PairingPanel,
  type SendOptions,
} from '../channel.js';
import { lockLogin, LockedError, phoneOf } from './auth.js';
import { describeStatus, WhatsAppConnection, type ConnectionStatus } from './connection.js';
import { translate } from './inbound.js';
import { CHAT_PREFIX, chatIdOf, jidOf, type OwnIdentity } from './jid.js';
import { Outbound } from './outbound.js';
import { RateLimiter } from './rate-limit.js';
import type { BackoffPolicy } from './reconnect.js';
import { baileysSocketFactory, type SocketFactory, type WASocketLike } from './socket.js';
import { TypingKeeper } from './typing.js';
import { foldRepeats } from '../../log.js';

export interface WhatsAppChannelOptions {
  authDir: string;
  lockFile: string;
  assistantName: string;
  /** The assistant has a number of its own (else it shares the owner's and signs its messages). */
  ownNumber: boolean;
  /** "self" (the owner's self-chat), a phone number (that DM), a group JID, or "none" (leave main alone). */
  mainChat: string;
  maxMediaBytes: number;
  sendPerMinute: number;
  sendBurst: number;
  log: Logger;
  factory?: SocketFactory;
  backoff?: BackoffPolicy;
  random?: () => number;
  groupSyncMs?: number;
  typingRefreshMs?: number;
  /** Longer replies are split into several messages. */
  maxChars?: number;
}

/** What the web page and `carapace whatsapp pair` show. */
export interface WhatsAppStatusView {
  status: ConnectionStatus['status'];
  detail: string;
  qr?: string;
  code?: string;
  me?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export class WhatsAppChannel implements Channel {
  readonly name = 'whatsapp';
  /** Linked from the owner's phone: the local web page shows the QR code or pairing code. */
  readonly pairing: PairingPanel = this;
  private readonly connection: WhatsAppConnection;
  private readonly outbound: Outbound;
  private readonly typing: TypingKeeper;
  private readonly log: Logger;
  private sink: InboundSink | undefined;
  private host: ChannelHost | undefined;
  private releaseLock: (() => void) | undefined;
  private readonly groupNames = new Map<string, string>();
  private readonly knownChats = new Map<string, string | undefined>();
  private readonly names = new Map<string, string>();
  /** Inbound work per chat, chained so each chat's messages are handed on in order (media can take a while). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(view: WhatsAppStatusView) => void>();
  private syncTimer: NodeJS.Timeout | undefined;
  private lastSync: number | undefined;
  private me: OwnIdentity | undefined;
  private statusSince = Date.now();

  constructor(private readonly opts: WhatsAppChannelOptions) {
    this.log = opts.log.child({ channel: 'whatsapp' });
    this.outbound = new Outbound({
      assistantName: opts.assistantName,
      ownNumber: opts.ownNumber,
      maxChars: opts.maxChars ?? 4000,
      limiter: new RateLimiter(opts.sendPerMinute, opts.sendBurst),
    });
    this.typing = new TypingKeeper(
      (presence, jid) => this.connection.socket?.sendPresenceUpdate(presence, jid) ?? Promise.resolve(),
      opts.typingRefreshMs,
    );
    this.connection = new WhatsAppConnection({
      factory: opts.factory ?? baileysSocketFactory,
      authDir: opts.authDir,
      log: this.log,
      baileysLogger: foldRepeats(this.log.child({ module: 'baileys' }, { level: 'warn' })),
      backoff: opts.backoff ?? { baseMs: 2_000, maxMs: 5 * 60_000, stableMs: 60_000 },
      random: opts.random,
      handlers: {
        'messages.upsert': (u, sock) => this.onMessages(u, sock),
        'groups.upsert': (groups) => this.rememberGroups(groups),
        'groups.update': (groups) => this.rememberGroups(groups),
      },
      onStatus: (s) => this.onStatus(s),
    });
  }

  owns(chatId: string): boolean {
    return chatId.startsWith(CHAT_PREFIX);
  }

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    this.sink = sink;
    this.host = host;
    this.start();
  }

  async disconnect(): Promise<void> {
    clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    this.typing.clear();
    await this.connection.stop();
    await Promise.allSettled([...this.chains.values()]); // media still being saved finishes into the store
    this.sink = undefined;
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  /**
   * Connect again after a terminal state (logged out, replaced, pairing expired). With a phone number, an unpaired
   * login switches to a pairing code. A connection that is open or on its way is left alone.
   */
  reconnect(opts: { pairingPhone?: string } = {}): void {
    const { status } = this.connection.status;
    const stuck = ['stopped', 'logged-out', 'replaced', 'unpaired', 'forbidden'].includes(status);
    if (stuck || (opts.pairingPhone && status === 'qr')) this.start(opts);
  }

  health(): ChannelHealth {
    const view = this.status();
    const states: Record<string, ChannelHealth['state']> = { open: 'connected', stopped: 'stopped', reconnecting: 'offline' };
    const failed = ['logged-out', 'replaced', 'unpaired', 'forbidden'].includes(view.status);
    return { state: failed ? 'failed' : (states[view.status] ?? 'connecting'), detail: view.detail, account: view.me, mode: 'linked device', since: this.statusSince };
  }

  status(): WhatsAppStatusView {
    const s = this.connection.status;
    return {
      status: s.status,
      detail: describeStatus(s),
      qr: s.status === 'qr' ? s.qr : undefined,
      code: s.status === 'pairing-code' ? s.code : undefined,
      me: s.status === 'open' ? phoneOf(s.me.pn) : undefined,
    };
  }

  /** Follow status changes (QR codes rotate every 20 s or so); returns the unsubscribe function. */
  onStatusChange(listener: (view: WhatsAppStatusView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async send(chatId: string, text: string, opts: SendOptions = {}): Promise<string> {
    const jid = jidOf(chatId);
    return this.outbound.sendText(() => this.openSocket(), jid, text, opts.key ?? randomUUID(), opts.sender);
  }

  async sendFile(chatId: string, file: OutboundFile, opts: SendOptions = {}): Promise<string> {
    const jid = jidOf(chatId);
    return this.outbound.sendFile(() => this.openSocket(), jid, file, opts.key ?? randomUUID());
  }

  forget(key: string): void {
    this.outbound.progress.forget(key);
  }

  async setTyping(chatId: string, typing: boolean): Promise<void> {
    if (!this.owns(chatId)) return;
    const jid = jidOf(chatId);
    await (typing ? this.typing.start(jid) : this.typing.stop(jid));
  }

  private start(opts: { pairingPhone?: string } = {}): void {
    if (!this.releaseLock) {
      try {
        this.releaseLock = lockLogin(this.opts.lockFile);
      } catch (err) {
        if (!(err instanceof LockedError)) throw err;
        // Someone is pairing from the terminal; the rest of Carapace runs on without WhatsApp for now.
        this.log.error({ err: err.message }, 'WhatsApp login busy; not connecting');
        return;
      }
    }
    this.connection.start(opts);
  }

  private openSocket(): WASocketLike {
    const sock = this.connection.socket;
    if (!sock) throw new ChannelUnavailableError(`WhatsApp is not connected (${describeStatus(this.connection.status)})`);
    return sock;
  }

  private onStatus(s: ConnectionStatus): void {
    this.statusSince = Date.now();
    const view = this.status();
    for (const listener of this.listeners) listener(view);
    if (s.status !== 'open') return;
    this.me = s.me;
    this.log.info({ me: phoneOf(s.me.pn) }, 'WhatsApp connected');
    this.claimMainChat(s.me);
    if (this.lastSync === undefined || Date.now() - this.lastSync >= (this.opts.groupSyncMs ?? DAY_MS)) void this.syncGroups();
    if (!this.syncTimer) this.syncTimer = setInterval(() => void this.syncGroups(), this.opts.groupSyncMs ?? DAY_MS);
    this.syncTimer.unref?.();
    this.host?.ready();
  }

  private claimMainChat(me: OwnIdentity): void {
    const main = this.opts.mainChat;
    if (main === 'none' || !this.host) return;
    let chat: ChatInfo;
    if (main === 'self') chat = { chatId: chatIdOf(me.pn), name: 'Me (self-chat)', isGroup: false };
    else if (main.endsWith('@g.us')) chat = { chatId: chatIdOf(main), name: this.groupNames.get(main) ?? 'WhatsApp main group', isGroup: true };
    else chat = { chatId: chatIdOf(`${main}@s.whatsapp.net`), name: `+${main}`, isGroup: false };
    this.host.mainChat(chat);
  }

  /** Group names, on connect and daily: what `list_chats` shows the main agent. */
  private async syncGroups(): Promise<void> {
    const sock = this.connection.socket;
    if (!sock) return;
    try {
      const groups = await sock.groupFetchAllParticipating();
      this.lastSync = Date.now();
      this.rememberGroups(Object.values(groups));
      this.log.info({ groups: Object.keys(groups).length }, 'WhatsApp group names synced');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'WhatsApp group sync failed; next try on reconnect or tomorrow');
    }
  }

  private rememberGroups(groups: Partial<GroupMetadata>[]): void {
    const seen: ChatInfo[] = [];
    for (const g of groups) {
      if (!g.id || !g.subject) continue;
      this.groupNames.set(g.id, g.subject);
      seen.push({ chatId: chatIdOf(g.id), name: g.subject, isGroup: true });
    }
    this.chatsSeen(seen);
  }

  private chatsSeen(chats: ChatInfo[]): void {
    const fresh = chats.filter((c) => !this.knownChats.has(c.chatId) || (c.name && this.knownChats.get(c.chatId) !== c.name));
    for (const c of fresh) this.knownChats.set(c.chatId, c.name ?? this.knownChats.get(c.chatId));
    if (fresh.length > 0) this.host?.chatsSeen(fresh);
  }

  private onMessages({ messages }: BaileysEventMap['messages.upsert'], sock: WASocketLike): void {
    for (const msg of messages) {
      if (this.outbound.sent.has(msg.key.id)) continue; // our own message, echoed back
      const key = msg.key.remoteJid ?? '';
      const previous = this.chains.get(key) ?? Promise.resolve();
      const next = previous.then(() => this.handle(msg, sock)).catch((err: unknown) => {
        this.log.error({ err, id: msg.key.id }, 'could not take in a WhatsApp message');
      });
      this.chains.set(key, next);
      void next.finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    }
  }

  private async handle(msg: BaileysEventMap['messages.upsert']['messages'][number], sock: WASocketLike): Promise<void> {
    const me = this.me;
    if (!me || !this.sink) return;
    const result = await translate(msg, {
      sock,
      me,
      assistantName: this.opts.assistantName,
      ownNumber: this.opts.ownNumber,
      groupFolder: (chatId) => this.host?.groupFolder(chatId),
      notice: (chatId, key, text) => this.host?.notice(chatId, key, text),
      groupName: (jid) => this.groupNames.get(jid),
      names: this.names,
      maxMediaBytes: this.opts.maxMediaBytes,
      logger: this.log,
    });
    if (result.kind === 'ignore') return;
    this.chatsSeen([result.chat]);
    if (result.kind === 'message') this.sink?.(result.message);
  }
}
