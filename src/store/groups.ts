// Registered groups: which chats the assistant answers, in which folder, and how far it has answered.
import type { DB } from './db.js';
import { lastMessageId, upsertChat } from './messages.js';
import { channelOf } from './types.js';

export interface Group {
  id: number;
  channel: string;
  chatId: string;
  name: string;
  folder: string;
  trigger: string;
  requiresTrigger: boolean;
  isMain: boolean;
  containerConfig: Record<string, unknown>;
  cursor: number;
}

export type NewGroup = Omit<Group, 'id' | 'cursor' | 'containerConfig'> & { containerConfig?: Record<string, unknown> };

const groupCols = `id, channel, chat_id AS chatId, name, folder, trigger, requires_trigger AS requiresTrigger,
  is_main AS isMain, container_config AS containerConfig, cursor`;

function toGroup(row: any): Group {
  return {
    ...row,
    requiresTrigger: !!row.requiresTrigger,
    isMain: !!row.isMain,
    containerConfig: JSON.parse(row.containerConfig),
  };
}

export function registerGroup(db: DB, g: NewGroup): Group {
  return db.transaction(() => {
    db.prepare(`INSERT INTO chats (id, channel, name) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING`).run(g.chatId, g.channel, g.name);
    const info = db
      .prepare(
        `INSERT INTO groups (channel, chat_id, name, folder, trigger, requires_trigger, is_main, container_config, cursor, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        g.channel,
        g.chatId,
        g.name,
        g.folder,
        g.trigger,
        g.requiresTrigger ? 1 : 0,
        g.isMain ? 1 : 0,
        JSON.stringify(g.containerConfig ?? {}),
        lastMessageId(db, g.chatId),
        Date.now(),
      );
    return groupById(db, Number(info.lastInsertRowid))!;
  })();
}

export function groupById(db: DB, id: number): Group | undefined {
  const row = db.prepare(`SELECT ${groupCols} FROM groups WHERE id = ?`).get(id);
  return row ? toGroup(row) : undefined;
}

export function groupByChat(db: DB, chatId: string): Group | undefined {
  const row = db.prepare(`SELECT ${groupCols} FROM groups WHERE chat_id = ?`).get(chatId);
  return row ? toGroup(row) : undefined;
}

export function mainGroup(db: DB): Group | undefined {
  const row = db.prepare(`SELECT ${groupCols} FROM groups WHERE is_main = 1`).get();
  return row ? toGroup(row) : undefined;
}

export function listGroups(db: DB): Group[] {
  return db.prepare(`SELECT ${groupCols} FROM groups ORDER BY id`).all().map(toGroup);
}

/** Replace a group's container config (callers validate it first). */
export function setContainerConfig(db: DB, groupId: number, config: Record<string, unknown>): void {
  db.prepare('UPDATE groups SET container_config = ? WHERE id = ?').run(JSON.stringify(config), groupId);
}

/**
 * Point a group (its folder, memory and session) at another chat. It starts after whatever that chat already
 * holds, like a new registration.
 */
export function rebindGroup(db: DB, groupId: number, chat: { chatId: string; name: string }): Group {
  return db.transaction(() => {
    upsertChat(db, { chatId: chat.chatId, name: chat.name, isGroup: false });
    db.prepare('UPDATE groups SET chat_id = ?, channel = ?, name = ?, cursor = ? WHERE id = ?').run(
      chat.chatId,
      channelOf(chat.chatId),
      chat.name,
      lastMessageId(db, chat.chatId),
      groupId,
    );
    return groupById(db, groupId)!;
  })();
}

/** Move a group's cursor forward (never back): those messages count as answered. */
export function advanceCursor(db: DB, groupId: number, messageId: number): void {
  db.prepare('UPDATE groups SET cursor = MAX(cursor, ?) WHERE id = ?').run(messageId, groupId);
}
