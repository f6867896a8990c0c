// WhatsApp addresses: chat ids are "wa:<jid>"; people are identified by their phone-number JID, so LIDs (the
// anonymous ids WhatsApp uses in groups and, in Baileys 7, for sessions) are translated wherever we can.
import { isLidUser, isPnUser, jidNormalizedUser } from '@whiskeysockets/baileys';
import type { WASocketLike } from './socket.js';

export const CHAT_PREFIX = 'wa:';

export const chatIdOf = (jid: string) => `${CHAT_PREFIX}${jid}`;

export function jidOf(chatId: string): string {
  if (!chatId.startsWith(CHAT_PREFIX)) throw new Error(`not a WhatsApp chat id: ${chatId}`);
  return chatId.slice(CHAT_PREFIX.length);
}

/** The account this device is linked to, without device suffixes. */
export interface OwnIdentity {
  pn: string;
  lid?: string;
  name?: string;
}

export function ownIdentity(user: WASocketLike['user']): OwnIdentity | undefined {
  if (!user?.id) return undefined;
  return {
    pn: jidNormalizedUser(user.id),
    lid: user.lid ? jidNormalizedUser(user.lid) : undefined,
    name: user.name ?? user.notify ?? undefined,
  };
}

/**
 * The phone-number JID for `jid`: from the message's alternate address when it carries one, our own mapping,
 * or Baileys' LID store; a LID nobody can map stays as it is (it still identifies the person consistently).
 */
export async function phoneJid(
  jid: string,
  alt: string | null | undefined,
  me: OwnIdentity | undefined,
  lids: WASocketLike['signalRepository']['lidMapping'],
): Promise<string> {
  const normal = jidNormalizedUser(jid);
  if (!isLidUser(normal)) return normal;
  if (alt && isPnUser(alt)) return jidNormalizedUser(alt);
  if (me?.lid === normal) return me.pn;
  try {
    const pn = await lids.getPNForLID(normal);
    if (pn) return jidNormalizedUser(pn);
  } catch {
    // the LID store is best effort; keep the LID
  }
  return normal;
}
