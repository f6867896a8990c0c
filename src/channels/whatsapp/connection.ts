// One WhatsApp connection over time: opens a socket, follows its connection updates, and decides what a close
// means — reconnect with backoff, restart at once (after pairing), or stop and say why (logged out, replaced by
// another session, QR never scanned). Events from a socket that is no longer current are ignored, so a late close
// can never start a second reconnect loop.
import type { BaileysEventMap, ConnectionState as BaileysConnectionState } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { forgetLogin, phoneOf } from './auth.js';
import { ownIdentity, type OwnIdentity } from './jid.js';
import { Reconnector, type BackoffPolicy } from './reconnect.js';
import type { ILogger, SocketFactory, WASocketLike } from './socket.js';

/** Baileys' DisconnectReason values we act on (the enum lives in Baileys' runtime, which tests need not load). */
export const CLOSE = { loggedOut: 401, forbidden: 403, timedOut: 408, connectionReplaced: 440, restartRequired: 515 } as const;

export type ConnectionStatus =
  | { status: 'stopped' }
  | { status: 'connecting' }
  /** Not paired: scan this QR code from the phone (WhatsApp → Linked devices → Link a device). */
  | { status: 'qr'; qr: string }
  /** Not paired: type this code on the phone (Link with phone number instead). */
  | { status: 'pairing-code'; code: string; phone: string }
  | { status: 'open'; me: OwnIdentity }
  | { status: 'reconnecting'; attempt: number; inMs: number; error: string }
  /** Terminal states: no automatic reconnect; `reason` says what the owner can do. */
  | { status: 'logged-out' | 'replaced' | 'unpaired' | 'forbidden'; reason: string };

export type SocketHandlers = { [E in keyof BaileysEventMap]?: (arg: BaileysEventMap[E], sock: WASocketLike) => void };

export interface ConnectionOptions {
  factory: SocketFactory;
  authDir: string;
  log: Logger;
  /** Baileys' own (noisy) logger. */
  baileysLogger: ILogger;
  backoff: BackoffPolicy;
  random?: () => number;
  /** Listeners attached to every socket (and detached when it closes). */
  handlers: SocketHandlers;
  onStatus: (status: ConnectionStatus) => void;
}

/** A restart request right after another means something is wrong: after this many, back off as usual. */
const MAX_QUICK_RESTARTS = 3;

export function closeCode(error: unknown): number | undefined {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export class WhatsAppConnection {
  private sock: WASocketLike | undefined;
  private detach: (() => void) | undefined;
  private readonly reconnect: Reconnector;
  private current: ConnectionStatus = { status: 'stopped' };
  private running = false;
  private quickRestarts = 0;
  private pairingPhone: string | undefined;
  private codeRequested = false;

  constructor(private readonly opts: ConnectionOptions) {
    this.reconnect = new Reconnector(opts.backoff, opts.random);
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** The socket, while the connection is open. */
  get socket(): WASocketLike | undefined {
    return this.current.status === 'open' ? this.sock : undefined;
  }

  /** Connect (again). With `pairingPhone`, an unpaired login asks for a pairing code instead of showing QR codes. */
  start(opts: { pairingPhone?: string } = {}): void {
    this.pairingPhone = opts.pairingPhone;
    this.codeRequested = false;
    this.running = true;
    this.reconnect.cancel();
    const old = this.sock;
    this.dropSocket();
    void old?.end(undefined);
    void this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reconnect.cancel();
    const sock = this.sock;
    this.dropSocket();
    this.setStatus({ status: 'stopped' });
    await sock?.end(undefined);
  }

  private async open(): Promise<void> {
    if (!this.running) return;
    this.setStatus({ status: 'connecting' });
    let sock: WASocketLike;
    try {
      sock = await this.opts.factory({ authDir: this.opts.authDir, logger: this.opts.baileysLogger });
    } catch (err) {
      this.opts.log.error({ err }, 'could not create the WhatsApp socket');
      this.scheduleRetry(err);
      return;
    }
    if (!this.running || this.sock) {
      void sock.end(undefined); // stopped or restarted while it was being made
      return;
    }
    this.sock = sock;
    const attached: [keyof BaileysEventMap, (arg: any) => void][] = [];
    const on = <E extends keyof BaileysEventMap>(event: E, fn: (arg: BaileysEventMap[E]) => void) => {
      const guarded = (arg: BaileysEventMap[E]) => {
        if (this.sock === sock) fn(arg);
      };
      sock.ev.on(event, guarded);
      attached.push([event, guarded]);
    };
    on('connection.update', (u) => this.onUpdate(sock, u));
    for (const [event, fn] of Object.entries(this.opts.handlers) as [keyof BaileysEventMap, (a: unknown, s: WASocketLike) => void][]) {
      on(event, (arg) => fn(arg, sock));
    }
    this.detach = () => {
      for (const [event, fn] of attached) sock.ev.off(event, fn);
    };
  }

  private onUpdate(sock: WASocketLike, u: Partial<BaileysConnectionState>): void {
    if (u.qr) this.onQr(sock, u.qr);
    if (u.connection === 'open') {
      const me = ownIdentity(sock.user);
      if (!me) {
        this.opts.log.error('WhatsApp opened without telling us who we are; reconnecting');
        void sock.end(new Error('no own identity')); // its close event brings the retry
        return;
      }
      this.pairingPhone = undefined;
      this.reconnect.opened();
      this.setStatus({ status: 'open', me });
    } else if (u.connection === 'close') {
      this.onClose(u.lastDisconnect?.error);
    }
  }

  private onQr(sock: WASocketLike, qr: string): void {
    if (!this.pairingPhone) {
      this.setStatus({ status: 'qr', qr });
      return;
    }
    if (this.codeRequested) return;
    this.codeRequested = true;
    const phone = this.pairingPhone;
    sock.requestPairingCode(phone).then(
      (code) => {
        if (this.sock === sock) this.setStatus({ status: 'pairing-code', code, phone });
      },
      (err: Error) => this.opts.log.error({ err: err.message }, 'WhatsApp refused to give a pairing code'),
    );
  }

  private onClose(error: unknown): void {
    const was = this.current.status;
    if (this.reconnect.closed()) this.quickRestarts = 0;
    this.dropSocket();
    if (!this.running) return;
    const code = closeCode(error);
    const message = (error as Error | undefined)?.message ?? 'connection closed';
    const { log } = this.opts;
    if (code === CLOSE.loggedOut) {
      forgetLogin(this.opts.authDir);
      this.finish('logged-out', 'WhatsApp logged this device out (removed from Linked devices, or the login expired). Pair again: run `carapace whatsapp pair`, or use "Connect" on the web page.');
    } else if (code === CLOSE.connectionReplaced) {
      this.finish('replaced', 'Another session with this WhatsApp login took over (is a second Carapace running?). Stop the other one, then reconnect from the web page or restart Carapace.');
    } else if (code === CLOSE.forbidden) {
      this.finish('forbidden', 'WhatsApp refused this login (403). Check the account on the phone, then pair again.');
    } else if ((was === 'qr' || was === 'pairing-code') && code !== CLOSE.restartRequired) {
      this.finish('unpaired', 'The pairing code or QR code expired before it was used. Start pairing again.');
    } else if (code === CLOSE.restartRequired && this.quickRestarts < MAX_QUICK_RESTARTS) {
      this.quickRestarts++;
      log.info('WhatsApp asked for a restart (normal right after pairing)');
      this.reconnect.schedule(() => void this.open(), { immediate: true });
    } else {
      this.scheduleRetry(error, message);
    }
  }

  private scheduleRetry(error: unknown, message = (error as Error | undefined)?.message ?? String(error)): void {
    const inMs = this.reconnect.schedule(() => void this.open());
    if (inMs === undefined) return; // a retry is already pending
    // One warning when the connection goes; each further attempt of a long outage only at debug level.
    const level = this.reconnect.attempts <= 1 ? 'warn' : 'debug';
    this.opts.log[level]({ attempt: this.reconnect.attempts, inMs, err: message }, 'WhatsApp disconnected; reconnecting');
    this.setStatus({ status: 'reconnecting', attempt: this.reconnect.attempts, inMs, error: message });
  }

  private finish(status: 'logged-out' | 'replaced' | 'unpaired' | 'forbidden', reason: string): void {
    this.running = false;
    this.reconnect.cancel();
    this.opts.log.error({ status }, reason);
    this.setStatus({ status, reason });
  }

  private dropSocket(): void {
    this.detach?.();
    this.detach = undefined;
    this.sock = undefined;
  }

  private setStatus(status: ConnectionStatus): void {
    this.current = status;
    this.opts.onStatus(status);
  }
}

/** Errors that mean this machine cannot reach WhatsApp at all (no network, no DNS), not that WhatsApp refused. */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ECONNREFUSED|ETIMEDOUT|getaddrinfo/;

export function describeStatus(s: ConnectionStatus): string {
  switch (s.status) {
    case 'open':
      return `connected as ${phoneOf(s.me.pn) ?? s.me.pn}`;
    case 'qr':
      return 'waiting for the QR code to be scanned';
    case 'pairing-code':
      return `waiting for pairing code ${s.code} to be entered on ${s.phone}`;
    case 'reconnecting':
      if (OFFLINE.test(s.error)) return `no internet connection (${s.error}): trying again in ${Math.round(s.inMs / 1000)} s (attempt ${s.attempt})`;
      return `reconnecting (attempt ${s.attempt}, in ${Math.round(s.inMs / 1000)} s): ${s.error}`;
    case 'logged-out':
    case 'replaced':
    case 'unpaired':
    case 'forbidden':
      return s.reason;
    default:
      return s.status;
  }
}
