// The Baileys-facing boundary: the subset of Baileys' socket the adapter uses, and the factory that makes a
// real one. Tests inject a factory whose socket implements exactly this subset.
import { dirname } from 'node:path';
import type { BaileysEventEmitter, SocketConfig, WASocket } from '@whiskeysockets/baileys';
import { privateDir } from './auth.js';

/** Baileys' logger interface (pino-compatible). */
export type ILogger = SocketConfig['logger'];

export type WASocketLike = Pick<
  WASocket,
  'user' | 'sendMessage' | 'sendPresenceUpdate' | 'groupFetchAllParticipating' | 'requestPairingCode' | 'updateMediaMessage' | 'end'
> & {
  ev: BaileysEventEmitter;
  signalRepository: { lidMapping: Pick<WASocket['signalRepository']['lidMapping'], 'getPNForLID'> };
};

export interface SocketOptions {
  /** Where the login (Signal keys, credentials) lives; it never leaves the host's data directory. */
  authDir: string;
  logger: ILogger;
}

export type SocketFactory = (opts: SocketOptions) => Promise<WASocketLike>;

/** A real Baileys socket over the multi-file auth state. Baileys is loaded only when WhatsApp is used. */
export const baileysSocketFactory: SocketFactory = async ({ authDir, logger }) => {
  const baileys = await import('@whiskeysockets/baileys');
  privateDir(dirname(authDir)); // the login is as good as the phone: owner-only
  privateDir(authDir);
  const { state, saveCreds } = await baileys.useMultiFileAuthState(authDir);
  const sock = baileys.makeWASocket({
    auth: { creds: state.creds, keys: baileys.makeCacheableSignalKeyStore(state.keys, logger) },
    logger,
    browser: baileys.Browsers.ubuntu('Chrome'),
    markOnlineOnConnect: false, // the owner's phone keeps getting notifications
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
  });
  sock.ev.on('creds.update', () => void saveCreds());
  return sock;
};
