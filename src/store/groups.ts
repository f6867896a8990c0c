// Registered groups: which chats the assistant answers, in which folder, and how far it has answered.
import type { DB } from './db.js';
import { stmt } from './statements.js';
import { lastMessageId, upsertChat } from './messages.js';
import { channelOf, type ChatInfo } from './types.js';

/** agent: the assistant answers there; source: watched only (stored and readable from main, never answered). */
export type GroupMode = 'agent' | 'source';

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
  /** A thread's parent group (the registered chat the thread belongs to); null for a chat of its own. */
  parentId: number | null;
  /**
   * The folder the agent works in and remembers in: the group's own, or for a thread its parent's. `folder` stays
   * the group's own name, for what is kept per conversation (the agent's session state, sandbox names, logs).
   */
  workspace: string;
  mode: GroupMode;
}

export type NewGroup = Omit<Group, 'id' | 'cursor' | 'containerConfig' | 'parentId' | 'workspace' | 'mode'> & {
  containerConfig?: Record<string, unknown>;
  parentId?: number;
  mode?: GroupMode;
};

const groupCols = `g.id, g.channel, g.chat_id AS chatId, g.name, g.folder, g.trigger, g.requires_trigger AS requiresTrigger,
  g.is_main AS isMain, g.container_config AS containerConfig, g.cursor, g.parent_id AS parentId, g.mode,
  COALESCE(p.folder, g.folder) AS workspace FROM groups g LEFT JOIN groups p ON p.id = g.parent_id`;

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
    stmt(db, `INSERT INTO chats (id, channel, name) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING`).run(g.chatId, g.channel, g.name);
    const info = stmt(
      db,
      `INSERT INTO groups (channel, chat_id, name, folder, trigger, requires_trigger, is_main, container_config, cursor, created_at, parent_id, mode)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
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
      g.parentId ?? null,
      g.mode ?? 'agent',
    );
    return groupById(db, Number(info.lastInsertRowid))!;
  })();
}

export function groupById(db: DB, id: number): Group | undefined {
  const row = stmt(db, `SELECT ${groupCols} WHERE g.id = ?`).get(id);
  return row ? toGroup(row) : undefined;
}

export function groupByChat(db: DB, chatId: string): Group | undefined {
  const row = stmt(db, `SELECT ${groupCols} WHERE g.chat_id = ?`).get(chatId);
  return row ? toGroup(row) : undefined;
}

export function mainGroup(db: DB): Group | undefined {
  const row = stmt(db, `SELECT ${groupCols} WHERE g.is_main = 1`).get();
  return row ? toGroup(row) : undefined;
}

export function listGroups(db: DB): Group[] {
  return stmt(db, `SELECT ${groupCols} ORDER BY g.id`).all().map(toGroup);
}

/** Replace a group's container config (callers validate it first). */
export function setContainerConfig(db: DB, groupId: number, config: Record<string, unknown>): void {
  stmt(db, 'UPDATE groups SET container_config = ? WHERE id = ?').run(JSON.stringify(config), groupId);
}

/**
 * Point a group (its folder, memory and session) at another chat. It starts after whatever that chat already
 * holds, like a new registration.
 */
export function rebindGroup(db: DB, groupId: number, chat: { chatId: string; name: string }): Group {
  return db.transaction(() => {
    upsertChat(db, { chatId: chat.chatId, name: chat.name, isGroup: false });
    stmt(db, 'UPDATE groups SET chat_id = ?, channel = ?, name = ?, cursor = ? WHERE id = ?').run(
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
  stmt(db, 'UPDATE groups SET cursor = MAX(cursor, ?) WHERE id = ?').run(messageId, groupId);
}

/** A group's folder name for a thread of `parent`: the parent's name and a short digest of the thread's chat id. */
export function threadFolder(parent: Pick<Group, 'folder'>, threadChatId: string, digest: (s: string) => string): string {
  return `${parent.folder.slice(0, 52)}-t${digest(threadChatId).slice(0, 10)}`;
}

/**
 * Register a thread of `parent` as a group of its own (its own cursor and session) working in the parent's
 * folder with the parent's trigger and settings; the existing one when it is registered already.
 */
export function registerThread(db: DB, parent: Group, thread: ChatInfo, folder: string): { group: Group; created: boolean } {
  return db.transaction(() => {
    const existing = groupByChat(db, thread.chatId);
    if (existing) return { group: existing, created: false };
    const { channel, trigger, requiresTrigger, containerConfig, mode } = parent;
    const name = thread.name ? `${parent.name} › ${thread.name}` : `${parent.name} › thread`;
    const group = registerGroup(db, { channel, chatId: thread.chatId, name, folder, trigger, requiresTrigger, isMain: false, containerConfig, parentId: parent.id, mode });
    return { group, created: true };
  }).immediate();
}

export interface GroupFields {
  name: string;
  trigger: string;
  requiresTrigger: boolean;
  containerConfig: Record<string, unknown>;
}

/** Replace a group's own settings (callers validate them first). */
export function updateGroup(db: DB, groupId: number, f: GroupFields): Group {
  stmt(db, 'UPDATE groups SET name = ?, trigger = ?, requires_trigger = ?, container_config = ? WHERE id = ?').run(
    f.name,
    f.trigger,
    f.requiresTrigger ? 1 : 0,
    JSON.stringify(f.containerConfig),
    groupId,
  );
  return groupById(db, groupId)!;
}

/** Forget a group: its sessions, runs and tasks go with it (its chat, messages and spend stay). */
export function deleteGroup(db: DB, groupId: number): void {
  stmt(db, 'DELETE FROM groups WHERE id = ?').run(groupId);
}

/** Whose budget and spend a group's model calls count against: a thread's are its parent chat's. */
export const budgetGroupOf = (group: Pick<Group, 'id' | 'parentId'>): number => group.parentId ?? group.id;
