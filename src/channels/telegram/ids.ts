// Telegram chat ids in Carapace: "tg:<chat id>" for a chat, "tg:<chat id>:<thread id>" for a forum topic, which
// Carapace treats as a conversation of its own (a thread of the parent chat).

export const CHAT_PREFIX = 'tg:';

export interface TelegramTarget {
  chatId: number;
  /** The forum topic to post in (message_thread_id). */
  threadId?: number;
}

export function chatIdOf(chatId: number, threadId?: number): string {
  return threadId === undefined ? `${CHAT_PREFIX}${chatId}` : `${CHAT_PREFIX}${chatId}:${threadId}`;
}

/** "tg:-100123:7" → { chatId: -100123, threadId: 7 }; anything else is an error that names the id. */
export function targetOf(chatId: string): TelegramTarget {
  const match = /^tg:(-?\d{1,20})(?::(\d{1,12}))?$/.exec(chatId);
  if (!match) throw new Error(`not a Telegram chat id: ${chatId}`);
  return { chatId: Number(match[1]), threadId: match[2] === undefined ? undefined : Number(match[2]) };
}

/** The fields that address a message to the target (its topic included). */
export function addressOf(target: TelegramTarget): { message_thread_id?: number } {
  return target.threadId === undefined ? {} : { message_thread_id: target.threadId };
}
