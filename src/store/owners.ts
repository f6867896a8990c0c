// Who owns each bot channel, and the one-time codes that make someone its owner. `carapace channel pair` issues
// a code (only its hash is stored); the running channel redeems it when the owner sends it in a direct message.
// The CLI and the running assistant share the database, so a code issued while Carapace runs works at once.
import { createHash } from 'node:crypto';
import type { DB } from './db.js';
import { stmt } from './statements.js';

export interface OwnerRow {
  channel: string;
  userId: string;
  chatId: string;
  name: string;
  pairedAt: number;
}

/** Wrong guesses a code survives: after this many it is revoked and the owner must ask for a new one. */
export const MAX_CODE_FAILURES = 10;

/** Codes are compared as typed by people: case, spaces and dashes do not matter. */
export const normaliseCode = (text: string): string => text.replace(/[\s-]/g, '').toUpperCase();
const hashCode = (code: string): string => createHash('sha256').update(normaliseCode(code)).digest('hex');

export function ownerOf(db: DB, channel: string): OwnerRow | undefined {
  return stmt(db, 'SELECT channel, user_id AS userId, chat_id AS chatId, name, paired_at AS pairedAt FROM channel_owners WHERE channel = ?')
    .get(channel) as OwnerRow | undefined;
}

/** Replace the channel's live code (there is at most one). */
export function issueCode(db: DB, channel: string, code: string, expiresAt: number): void {
  stmt(
    db,
    `INSERT INTO pairing_codes (channel, code_hash, expires_at, failures) VALUES (?, ?, ?, 0)
     ON CONFLICT(channel) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, failures = 0`,
  ).run(channel, hashCode(code), expiresAt);
}

export type Redemption = 'paired' | 'wrong' | 'no-code';

/**
 * A direct message that may be the live code. Right: the code is used up and the sender is the owner, in one
 * transaction. Wrong (and it looks like a code): one failure counted, the code revoked at MAX_CODE_FAILURES.
 */
export function redeemCode(db: DB, channel: string, text: string, owner: Omit<OwnerRow, 'channel' | 'pairedAt'>, looksLikeCode: boolean, now = Date.now()): Redemption {
  return db.transaction((): Redemption => {
    const live = stmt(db, 'SELECT code_hash AS hash, failures FROM pairing_codes WHERE channel = ? AND expires_at > ?').get(channel, now) as
      | { hash: string; failures: number }
      | undefined;
    if (!live) return 'no-code';
    if (live.hash !== hashCode(text)) {
      if (!looksLikeCode) return 'wrong';
      if (live.failures + 1 >= MAX_CODE_FAILURES) stmt(db, 'DELETE FROM pairing_codes WHERE channel = ?').run(channel);
      else stmt(db, 'UPDATE pairing_codes SET failures = failures + 1 WHERE channel = ?').run(channel);
      return 'wrong';
    }
    stmt(db, 'DELETE FROM pairing_codes WHERE channel = ?').run(channel);
    stmt(
      db,
      `INSERT INTO channel_owners (channel, user_id, chat_id, name, paired_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(channel) DO UPDATE SET user_id = excluded.user_id, chat_id = excluded.chat_id, name = excluded.name,
         paired_at = excluded.paired_at`,
    ).run(channel, owner.userId, owner.chatId, owner.name, now);
    return 'paired';
  }).immediate();
}

/** True the first time a stranger is refused on `day` (so they are told once a day at most). */
export function firstRefusalToday(db: DB, channel: string, userId: string, day: string): boolean {
  return stmt(db, 'INSERT OR IGNORE INTO stranger_refusals (channel, user_id, day) VALUES (?, ?, ?)').run(channel, userId, day).changes === 1;
}

/** Forget a channel's owner and live code (`carapace channel remove`). */
export function forgetOwner(db: DB, channel: string): void {
  stmt(db, 'DELETE FROM channel_owners WHERE channel = ?').run(channel);
  stmt(db, 'DELETE FROM pairing_codes WHERE channel = ?').run(channel);
}
