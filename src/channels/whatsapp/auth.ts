// The WhatsApp login on disk: whether this install is paired, forgetting a login WhatsApp revoked, and a lock so
// two processes (the service and `carapace whatsapp pair`) never drive the same login at once.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processAlive } from '../../fs/pid-file.js';

export interface Pairing {
  paired: boolean;
  /** The linked account's phone JID (with device suffix), once paired. */
  me?: string;
  name?: string;
}

/** Paired means WhatsApp signed this device into an account (a pairing code request alone sets `me` too). */
export function readPairing(authDir: string): Pairing {
  const file = join(authDir, 'creds.json');
  if (!existsSync(file)) return { paired: false };
  try {
    const creds = JSON.parse(readFileSync(file, 'utf8')) as { account?: unknown; me?: { id?: string; name?: string } };
    if (!creds.account || !creds.me?.id) return { paired: false };
    return { paired: true, me: creds.me.id, name: creds.me.name };
  } catch {
    return { paired: false };
  }
}

/**
 * Create `dir` readable by its owner only. Parents get the usual mode: the data directory above must stay
 * traversable for the sandbox user.
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
}

/** WhatsApp revoked the login: its keys are worthless and a new pairing must start from nothing. */
export function forgetLogin(authDir: string): void {
  rmSync(authDir, { recursive: true, force: true });
}

/** "+4915112345678" from "4915112345678:12@s.whatsapp.net"; undefined for anything that is not a phone JID. */
export function phoneOf(jid: string | undefined): string | undefined {
  const m = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid ?? '');
  return m ? `+${m[1]}` : undefined;
}

export class LockedError extends Error {}

/** Lock files this process holds: our own pid in a lock file we do not hold is a stale one (pid reuse). */
const held = new Set<string>();

/**
 * Take the login's lock file (holding our pid). A lock whose process is gone is stale and taken over.
 * Returns the release function.
 */
export function lockLogin(lockFile: string): () => void {
  privateDir(dirname(lockFile));
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      held.add(lockFile);
      return () => {
        held.delete(lockFile);
        rmSync(lockFile, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lockFile, 'utf8'));
      const ours = holder === process.pid && held.has(lockFile);
      if (ours || (holder && holder !== process.pid && processAlive(holder))) {
        throw new LockedError(`the WhatsApp login is in use by process ${holder}`);
      }
      rmSync(lockFile, { force: true }); // stale
    }
  }
  throw new LockedError(`could not take ${lockFile}`);
}

