// `carapace whatsapp pair|status|logout`. Pairing goes through the running Carapace when it drives WhatsApp
// (one login, one connection: its QR codes are relayed here and shown on the web page); otherwise this process
// pairs on its own and exits once the phone has linked it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import pino from 'pino';
import { forgetLogin, lockLogin, LockedError, phoneOf, readPairing } from '../channels/whatsapp/auth.js';
import type { WhatsAppStatusView } from '../channels/whatsapp/whatsapp-channel.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { localApi, type LocalApi } from './local-api.js';

export interface WhatsAppCliOptions {
  config: Config;
  out: Writable;
  /** Only for tests: the socket factory for standalone pairing. */
  factory?: import('../channels/whatsapp/socket.js').SocketFactory;
  pollMs?: number;
}

const TERMINAL = new Set(['logged-out', 'replaced', 'unpaired', 'forbidden', 'stopped']);
const SCAN_HELP = 'On your phone: WhatsApp → Settings → Linked devices → Link a device, then scan this code:';
const CODE_HELP = 'On your phone: WhatsApp → Settings → Linked devices → Link a device → "Link with phone number instead", and enter:';

/** `--phone`: digits with country code; spaces, dashes, brackets and a leading + are dropped. */
export function parsePhone(value: string): string {
  const phone = value.replace(/[\s()+-]/g, '');
  if (!/^\d{6,15}$/.test(phone)) throw new InvalidArgumentError('--phone needs the full number with country code, e.g. --phone 4915112345678');
  return phone;
}

/** The running Carapace's WhatsApp status, or undefined when it is not running (or runs without WhatsApp). */
async function running(config: Config): Promise<{ view: WhatsAppStatusView; api: LocalApi } | undefined> {
  const api = localApi(config);
  if (!api) return undefined; // never started here
  try {
    const res = await api('/api/whatsapp');
    if (!res.ok) return undefined;
    const view = (await res.json()) as WhatsAppStatusView | { status: 'disabled' };
    return view.status === 'disabled' ? undefined : { view: view as WhatsAppStatusView, api };
  } catch {
    return undefined;
  }
}

async function printQr(out: Writable, qr: string): Promise<void> {
  out.write(`\n${SCAN_HELP}\n${await (await import('qrcode')).default.toString(qr, { type: 'terminal', small: true })}\n`);
}

/** `whatsapp pair`: through the running Carapace when it drives WhatsApp, else on its own. */
export async function pair(phone: string | undefined, opts: WhatsAppCliOptions): Promise<number> {
  const { config, out } = opts;
  const live = await running(config);
  if (live) {
    if (live.view.status === 'open') {
      out.write(`WhatsApp is already paired and connected as ${live.view.me} (in the running Carapace).\n`);
      return 0;
    }
    out.write('Carapace is running: pairing through it (the QR code is also on its web page).\n');
    await live.api('/api/whatsapp/connect', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(phone ? { phone } : {}),
    });
    return follow(async () => (await (await live.api('/api/whatsapp')).json()) as WhatsAppStatusView, opts);
  }
  const paths = dataPaths(config.dataDir);
  const pairing = readPairing(paths.whatsappAuth);
  if (pairing.paired) {
    out.write(
      `WhatsApp is already paired as ${phoneOf(pairing.me)}. Start Carapace to use it.\n` +
        'To link another account, run `carapace whatsapp logout` first.\n',
    );
    return 0;
  }
  return pairStandalone(phone, opts);
}

/** Relay the running Carapace's pairing until it is connected or gives up. */
async function follow(poll: () => Promise<WhatsAppStatusView>, opts: WhatsAppCliOptions): Promise<number> {
  let shown = '';
  for (;;) {
    let view: WhatsAppStatusView;
    try {
      view = await poll();
    } catch {
      opts.out.write('Lost contact with the running Carapace (did it stop?). Run this again once it is back.\n');
      return 1;
    }
    const key = `${view.status}:${view.qr ?? view.code ?? ''}`;
    if (key !== shown) {
      shown = key;
      if (view.qr) await printQr(opts.out, view.qr);
      else if (view.code) opts.out.write(`\n${CODE_HELP}\n\n    ${view.code}\n\n`);
      else if (view.status !== 'open') opts.out.write(`WhatsApp: ${view.detail}\n`);
    }
    if (view.status === 'open') {
      opts.out.write(`Paired: WhatsApp is connected as ${view.me}.\n`);
      return 0;
    }
    if (TERMINAL.has(view.status)) return 1;
    await sleep(opts.pollMs ?? 1000);
  }
}

async function pairStandalone(phone: string | undefined, opts: WhatsAppCliOptions): Promise<number> {
  const { config, out } = opts;
  const paths = dataPaths(config.dataDir);
  const busy = (why: string) => `Cannot pair now: ${why}. Is Carapace starting up? Try again in a moment.`;
  return withLogin(paths.whatsappLock, out, busy, async () => {
    const { WhatsAppConnection, describeStatus } = await import('../channels/whatsapp/connection.js');
    const { baileysSocketFactory } = await import('../channels/whatsapp/socket.js');
    const log = pino({ level: 'silent' });
    return new Promise<number>((resolve) => {
      const connection = new WhatsAppConnection({
        factory: opts.factory ?? baileysSocketFactory,
        authDir: paths.whatsappAuth,
        log,
        baileysLogger: log,
        backoff: { baseMs: 2_000, maxMs: 30_000, stableMs: 60_000 },
        handlers: {},
        onStatus: (s) => {
          if (s.status === 'qr') void printQr(out, s.qr);
          else if (s.status === 'pairing-code') out.write(`\n${CODE_HELP}\n\n    ${s.code}\n\n`);
          else if (s.status === 'reconnecting') out.write(`WhatsApp: ${describeStatus(s)}\n`);
          else if (s.status === 'open') {
            out.write(`Paired: WhatsApp is linked to ${phoneOf(s.me.pn)}. (Re)start Carapace to use it.\n`);
            void connection.stop().then(() => resolve(0));
          } else if (TERMINAL.has(s.status) && s.status !== 'stopped') {
            out.write(`WhatsApp: ${describeStatus(s)}\n`);
            resolve(1);
          }
        },
      });
      out.write('Connecting to WhatsApp…\n');
      connection.start({ pairingPhone: phone });
    });
  });
}

/** `whatsapp status`: the login on this computer and the running Carapace's connection. */
export async function status({ config, out }: WhatsAppCliOptions, json = false): Promise<number> {
  const live = await running(config);
  const pairing = readPairing(dataPaths(config.dataDir).whatsappAuth);
  if (json) {
    out.write(`${JSON.stringify({ paired: pairing.paired, phone: phoneOf(pairing.me) ?? null, running: live?.view ?? null }, null, 2)}\n`);
    return 0;
  }
  out.write(`Login on this computer: ${pairing.paired ? `paired as ${phoneOf(pairing.me)}` : 'not paired'}\n`);
  out.write(`Running Carapace: ${live ? `WhatsApp ${live.view.detail}` : 'not running, or running without WhatsApp'}\n`);
  return 0;
}

/** `whatsapp logout`: forget the login (refused while a running Carapace holds it). */
export async function logout({ config, out }: WhatsAppCliOptions): Promise<number> {
  const paths = dataPaths(config.dataDir);
  return withLogin(paths.whatsappLock, out, (why) => `The WhatsApp login is in use (${why}): stop Carapace first.`, async () => {
    const pairing = readPairing(paths.whatsappAuth);
    forgetLogin(paths.whatsappAuth);
    out.write(
      pairing.paired
        ? `Removed the WhatsApp login for ${phoneOf(pairing.me)} from this computer. On your phone, also remove it under ` +
            'WhatsApp → Settings → Linked devices.\n'
        : 'There was no WhatsApp login to remove.\n',
    );
    return 0;
  });
}

/** Run `fn` holding the login's lock; if another process holds it, say `busy(why)` and return 1. */
async function withLogin(lockFile: string, out: Writable, busy: (why: string) => string, fn: () => Promise<number>): Promise<number> {
  let release: () => void;
  try {
    release = lockLogin(lockFile);
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    out.write(`${busy(err.message)}\n`);
    return 1;
  }
  try {
    return await fn();
  } finally {
    release();
  }
}
