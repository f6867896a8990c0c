// Chats and their messages: what arrived, from whom, in which order.
import type { DB } from './db.js';
import { plucked, stmt } from './statements.js';
import { channelOf, type ChatInfo, type InboundMessage } from './types.js';

export interface StoredMessage {
  id: number;
  chatId: string;
  senderId: string;
  senderName: string;
  text: string;
  timestamp: number;
  fromAssistant: boolean;
  /** Addressed to the assistant by the platform's means (a mention, a reply to it): counts as the trigger. */
  addressed: boolean;
}

export interface ChatRow {
  chatId: string;
  channel: string;
  name: string | null;
  isGroup: boolean;
  lastMessageAt: number | null;
  /** The folder of the group registered for this chat, if any. */
  folder: string | null;
}

const messageCols = `id, chat_id AS chatId, sender_id AS senderId, sender_name AS senderName, text, timestamp,
  from_assistant AS fromAssistant, addressed`;
const chatSelect = `SELECT c.id AS chatId, c.channel, c.name, c.is_group AS isGroup, c.last_message_at AS lastMessageAt,
  g.folder FROM chats c LEFT JOIN groups g ON g.chat_id = c.id`;
const toChat = (row: any): ChatRow => ({ ...row, isGroup: !!row.isGroup });
const toMessage = (row: any): StoredMessage => ({ ...row, fromAssistant: !!row.fromAssistant, addressed: !!row.addressed });

/** Store an inbound message; returns its id, or null when the platform redelivered one we already have. */
export function insertMessage(db: DB, m: InboundMessage): number | null {
  return db.transaction(() => {
    stmt(
      db,
      `INSERT INTO chats (id, channel, name, last_message_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET name = COALESCE(excluded.name, name),
         last_message_at = MAX(COALESCE(last_message_at, 0), excluded.last_message_at)`,
    ).run(m.chatId, channelOf(m.chatId), m.chatName ?? null, m.timestamp);
    const info = stmt(
      db,
      `INSERT OR IGNORE INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant, addressed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(m.chatId, m.platformId, m.senderId, m.senderName, m.text, m.timestamp, m.fromAssistant ? 1 : 0, m.addressed ? 1 : 0);
    return info.changes === 1 ? Number(info.lastInsertRowid) : null;
  })();
}

/** The newest stored message from people in each registered chat whose id starts with `prefix` ("dc:"). */
export function newestPlatformIds(db: DB, prefix: string): { chatId: string; platformId: string }[] {
  return stmt(
    db,
    `SELECT m.chat_id AS chatId, m.platform_id AS platformId FROM groups g
     JOIN messages m ON m.id = (SELECT id FROM messages WHERE chat_id = g.chat_id AND from_assistant = 0 ORDER BY timestamp DESC, id DESC LIMIT 1)
     WHERE substr(g.chat_id, 1, length(?)) = ?`,
  ).all(prefix, prefix) as { chatId: string; platformId: string }[];
}

export function chatExists(db: DB, chatId: string): boolean {
  return stmt(db, 'SELECT 1 FROM chats WHERE id = ?').get(chatId) !== undefined;
}

/** Record a chat the platform told us about; a known name is kept when the platform sends none. */
export function upsertChat(db: DB, c: ChatInfo): void {
  stmt(
    db,
    `INSERT INTO chats (id, channel, name, is_group) VALUES (?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET name = COALESCE(excluded.name, name), is_group = excluded.is_group`,
  ).run(c.chatId, channelOf(c.chatId), c.name ?? null, c.isGroup ? 1 : 0);
}

/** Known chats, most recently active first; `query` filters by name or id (case-insensitive). */
export function listChats(db: DB, query: string, limit: number): ChatRow[] {
  const like = `%${query.replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return stmt(db, `${chatSelect} WHERE c.name LIKE ? ESCAPE '!' OR c.id LIKE ? ESCAPE '!'
      ORDER BY COALESCE(c.last_message_at, 0) DESC, c.id LIMIT ?`)
    .all(like, like, limit)
    .map(toChat);
}

export function chatById(db: DB, chatId: string): ChatRow | undefined {
  const row = stmt(db, `${chatSelect} WHERE c.id = ?`).get(chatId);
  return row ? toChat(row) : undefined;
}

/** Messages from people (not the assistant) after `afterId`, oldest first. */
export function messagesAfter(db: DB, chatId: string, afterId: number): StoredMessage[] {
  return stmt(db, `SELECT ${messageCols} FROM messages WHERE chat_id = ? AND id > ? AND from_assistant = 0 ORDER BY id`)
    .all(chatId, afterId)
    .map(toMessage);
}

/** People's messages in (`afterId`, `upTo`], the newest `limit` of them, oldest first (a backlog's prompt tail). */
export function newestMessagesBetween(db: DB, chatId: string, afterId: number, upTo: number, limit: number): StoredMessage[] {
  return stmt(db, `SELECT * FROM (SELECT ${messageCols} FROM messages WHERE chat_id = ? AND id > ? AND id <= ? AND from_assistant = 0
      ORDER BY id DESC LIMIT ?) ORDER BY id`)
    .all(chatId, afterId, upTo, limit)
    .map(toMessage);
}

/** How many people's messages lie in (`afterId`, `upTo`] (counted on the index, rows untouched). */
export function countMessagesBetween(db: DB, chatId: string, afterId: number, upTo: number): number {
  return plucked(db, 'SELECT COUNT(*) FROM messages WHERE chat_id = ? AND id > ? AND id <= ? AND from_assistant = 0').get(chatId, afterId, upTo) as number;
}

/** The newest people's message after `afterId` (0 when none). */
export function lastMessageAfter(db: DB, chatId: string, afterId: number): number {
  const id = plucked(db, 'SELECT id FROM messages WHERE chat_id = ? AND id > ? AND from_assistant = 0 ORDER BY id DESC LIMIT 1').get(chatId, afterId);
  return (id as number | undefined) ?? 0;
}

/** The latest `limit` messages of a chat, both sides, oldest first (chat history views). */
export function recentMessages(db: DB, chatId: string, limit: number): StoredMessage[] {
  return stmt(db, `SELECT * FROM (SELECT ${messageCols} FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`)
    .all(chatId, limit)
    .map(toMessage);
}

/** The newest message id a chat holds (0 when none): a group bound to it starts after it, not replaying history. */
export function lastMessageId(db: DB, chatId: string): number {
  return plucked(db, 'SELECT COALESCE(MAX(id), 0) FROM messages WHERE chat_id = ?').get(chatId) as number;
}

/** What read_messages asks for: one chat, a time window, optional sender/text filters, at most `limit` messages. */
export interface MessageQuery {
  chatId: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Part of the sender's name or id (case-insensitive). */
  sender?: string;
  /** Part of the text (case-insensitive). */
  text?: string;
  limit: number;
}

const likeArg = (s: string | undefined) => (s === undefined ? null : `%${s.replace(/[!%_]/g, (c) => `!${c}`)}%`);

/** The newest `limit` messages matching `q` (both sides, oldest first) and how many matched in all. */
export function findMessages(db: DB, q: MessageQuery): { messages: StoredMessage[]; total: number } {
  const where = `chat_id = ? AND timestamp >= ? AND timestamp < ?
    AND (? IS NULL OR sender_name LIKE ? ESCAPE '!' OR sender_id LIKE ? ESCAPE '!')
    AND (? IS NULL OR text LIKE ? ESCAPE '!')`;
  const sender = likeArg(q.sender);
  const text = likeArg(q.text);
  const args = [q.chatId, q.since ?? 0, q.until ?? Number.MAX_SAFE_INTEGER, sender, sender, sender, text, text];
  const total = plucked(db, `SELECT COUNT(*) FROM messages WHERE ${where}`).get(...args) as number;
  const messages = stmt(db, `SELECT * FROM (SELECT ${messageCols} FROM messages WHERE ${where} ORDER BY timestamp DESC, id DESC LIMIT ?) ORDER BY timestamp, id`)
    .all(...args, q.limit)
    .map(toMessage);
  return { messages, total };
}
