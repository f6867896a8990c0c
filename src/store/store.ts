import type { DB } from './db.js';
import type { ChatInfo, InboundMessage } from '../channels/channel.js';
import { TaskStore } from './tasks.js';

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

export interface StoredMessage {
  id: number;
  chatId: string;
  senderId: string;
  senderName: string;
  text: string;
  timestamp: number;
  fromAssistant: boolean;
}

export interface RunRow {
  id: string;
  groupId: number;
  status: 'running' | 'succeeded' | 'failed' | 'abandoned';
  attempt: number;
  fromMessage: number;
  toMessage: number;
  sandbox: string | null;
  startedAt: number;
  firstOutputAt: number | null;
  endedAt: number | null;
  error: string | null;
  /** A task run in a fresh session: its session id is not the group's. */
  isolated: boolean;
}

/** Tokens of one model call, as the API reported them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/** Summed usage plus the number of calls. */
export interface UsageTotals extends TokenUsage {
  calls: number;
}

/** Everything a budget counts: cached input is still input. */
export const totalTokens = (u: TokenUsage) =>
  u.inputTokens + u.outputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens;

export interface OutboxRow {
  id: number;
  runId: string;
  seq: number;
  chatId: string;
  /** The message, or a file's caption. */
  text: string;
  /** A team member's role; absent for the assistant itself. */
  sender: string | null;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  /** A file to send (host-private copy) and the name the recipient sees. */
  filePath: string | null;
  fileName: string | null;
  createdAt: number;
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

const groupCols = `id, channel, chat_id AS chatId, name, folder, trigger, requires_trigger AS requiresTrigger,
  is_main AS isMain, container_config AS containerConfig, cursor`;
const runCols = `id, group_id AS groupId, status, attempt, from_message AS fromMessage, to_message AS toMessage,
  sandbox, started_at AS startedAt, first_output_at AS firstOutputAt, ended_at AS endedAt, error, isolated`;
const messageCols = `id, chat_id AS chatId, sender_id AS senderId, sender_name AS senderName, text, timestamp,
  from_assistant AS fromAssistant`;

function toGroup(row: any): Group {
  return {
    ...row,
    requiresTrigger: !!row.requiresTrigger,
    isMain: !!row.isMain,
    containerConfig: JSON.parse(row.containerConfig),
  };
}
const chatSelect = `SELECT c.id AS chatId, c.channel, c.name, c.is_group AS isGroup, c.last_message_at AS lastMessageAt,
  g.folder FROM chats c LEFT JOIN groups g ON g.chat_id = c.id`;
const toChat = (row: any): ChatRow => ({ ...row, isGroup: !!row.isGroup });
const toMessage = (row: any): StoredMessage => ({ ...row, fromAssistant: !!row.fromAssistant });
const toRun = (row: any): RunRow => ({ ...row, isolated: !!row.isolated });

/** Typed access to the store. Every multi-step state change is one transaction. */
export class Store {
  readonly tasks: TaskStore;

  constructor(readonly db: DB) {
    this.tasks = new TaskStore(db);
  }

  // ── chats and messages ────────────────────────────────────────────────────

  /** Store an inbound message; returns its id, or null when the platform redelivered one we already have. */
  insertMessage(m: InboundMessage): number | null {
    const channel = m.chatId.split(':', 1)[0];
    return this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO chats (id, channel, name, last_message_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET name = COALESCE(excluded.name, name),
             last_message_at = MAX(COALESCE(last_message_at, 0), excluded.last_message_at)`,
        )
        .run(m.chatId, channel, m.chatName ?? null, m.timestamp);
      const info = this.db
        .prepare(
          `INSERT OR IGNORE INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(m.chatId, m.platformId, m.senderId, m.senderName, m.text, m.timestamp, m.fromAssistant ? 1 : 0);
      return info.changes === 1 ? Number(info.lastInsertRowid) : null;
    })();
  }

  chatExists(chatId: string): boolean {
    return this.db.prepare('SELECT 1 FROM chats WHERE id = ?').get(chatId) !== undefined;
  }

  /** Record a chat the platform told us about; a known name is kept when the platform sends none. */
  upsertChat(c: ChatInfo): void {
    this.db
      .prepare(
        `INSERT INTO chats (id, channel, name, is_group) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = COALESCE(excluded.name, name), is_group = excluded.is_group`,
      )
      .run(c.chatId, c.chatId.split(':', 1)[0], c.name ?? null, c.isGroup ? 1 : 0);
  }

  /** Known chats, most recently active first; `query` filters by name or id (case-insensitive). */
  listChats(query = '', limit = 200): ChatRow[] {
    const like = `%${query.replace(/[!%_]/g, (c) => `!${c}`)}%`;
    return this.db
      .prepare(`${chatSelect} WHERE c.name LIKE ? ESCAPE '!' OR c.id LIKE ? ESCAPE '!'
        ORDER BY COALESCE(c.last_message_at, 0) DESC, c.id LIMIT ?`)
      .all(like, like, limit)
      .map(toChat);
  }

  chatById(chatId: string): ChatRow | undefined {
    const row = this.db.prepare(`${chatSelect} WHERE c.id = ?`).get(chatId);
    return row ? toChat(row) : undefined;
  }

  /** Messages from people (not the assistant) after `afterId`, oldest first. */
  messagesAfter(chatId: string, afterId: number): StoredMessage[] {
    return this.db
      .prepare(`SELECT ${messageCols} FROM messages WHERE chat_id = ? AND id > ? AND from_assistant = 0 ORDER BY id`)
      .all(chatId, afterId)
      .map(toMessage);
  }

  /** The latest `limit` messages of a chat, both sides, oldest first (chat history views). */
  recentMessages(chatId: string, limit: number): StoredMessage[] {
    return this.db
      .prepare(`SELECT * FROM (SELECT ${messageCols} FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`)
      .all(chatId, limit)
      .map(toMessage);
  }

  // ── groups ────────────────────────────────────────────────────────────────

  registerGroup(g: Omit<Group, 'id' | 'cursor' | 'containerConfig'> & { containerConfig?: Record<string, unknown> }): Group {
    return this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO chats (id, channel, name) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING`)
        .run(g.chatId, g.channel, g.name);
      // Start after whatever the chat already holds: registering a chat must not replay its history.
      const last = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM messages WHERE chat_id = ?').get(g.chatId) as {
        id: number;
      };
      const info = this.db
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
          last.id,
          Date.now(),
        );
      return this.groupById(Number(info.lastInsertRowid))!;
    })();
  }

  groupById(id: number): Group | undefined {
    const row = this.db.prepare(`SELECT ${groupCols} FROM groups WHERE id = ?`).get(id);
    return row ? toGroup(row) : undefined;
  }

  groupByChat(chatId: string): Group | undefined {
    const row = this.db.prepare(`SELECT ${groupCols} FROM groups WHERE chat_id = ?`).get(chatId);
    return row ? toGroup(row) : undefined;
  }

  listGroups(): Group[] {
    return this.db.prepare(`SELECT ${groupCols} FROM groups ORDER BY id`).all().map(toGroup);
  }

  /** Replace a group's container config (callers validate it first). */
  setContainerConfig(groupId: number, config: Record<string, unknown>): void {
    this.db.prepare('UPDATE groups SET container_config = ? WHERE id = ?').run(JSON.stringify(config), groupId);
  }

  /**
   * Point a group (its folder, memory and session) at another chat. It starts after whatever that chat already
   * holds, like a new registration.
   */
  rebindGroup(groupId: number, chat: { chatId: string; name: string }): Group {
    return this.db.transaction(() => {
      this.upsertChat({ chatId: chat.chatId, name: chat.name, isGroup: false });
      const last = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM messages WHERE chat_id = ?').get(chat.chatId) as {
        id: number;
      };
      this.db
        .prepare('UPDATE groups SET chat_id = ?, channel = ?, name = ?, cursor = ? WHERE id = ?')
        .run(chat.chatId, chat.chatId.split(':', 1)[0], chat.name, last.id, groupId);
      return this.groupById(groupId)!;
    })();
  }

  /** Move a group's cursor forward (never back): those messages count as answered. */
  advanceCursor(groupId: number, messageId: number): void {
    this.db.prepare('UPDATE groups SET cursor = MAX(cursor, ?) WHERE id = ?').run(messageId, groupId);
  }

  // ── sessions ──────────────────────────────────────────────────────────────

  sessionOf(groupId: number): string | undefined {
    const row = this.db.prepare('SELECT session_id AS s FROM sessions WHERE group_id = ?').get(groupId) as
      | { s: string }
      | undefined;
    return row?.s;
  }

  setSession(groupId: number, sessionId: string): void {
    this.db
      .prepare(
        `INSERT INTO sessions (group_id, session_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(group_id) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
      )
      .run(groupId, sessionId, Date.now());
  }

  clearSession(groupId: number): void {
    this.db.prepare('DELETE FROM sessions WHERE group_id = ?').run(groupId);
  }

  // ── runs ──────────────────────────────────────────────────────────────────

  /**
   * Claim messages (fromMessage, toMessage] for a new run; they are its input 0. A run started for a task
   * occurrence (`taskRun`) carries that occurrence as input 0 instead, and claims no messages.
   */
  startRun(r: {
    id: string;
    groupId: number;
    attempt: number;
    fromMessage: number;
    toMessage: number;
    sandbox: string;
    isolated?: boolean;
    taskRun?: number;
  }) {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO runs (id, group_id, status, attempt, from_message, to_message, sandbox, started_at, isolated)
           VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
        )
        .run(r.id, r.groupId, r.attempt, r.fromMessage, r.toMessage, r.sandbox, Date.now(), r.isolated ? 1 : 0);
      this.recordInput(r.id, 0, r.toMessage);
      if (r.taskRun !== undefined) this.tasks.attach(r.taskRun, r.id, 0);
    })();
  }

  /** Record what input `seq` of a run carried; a piped follow-up also extends the run's claim. */
  recordInput(runId: string, seq: number, toMessage: number): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO run_inputs (run_id, seq, to_message) VALUES (?, ?, ?)').run(runId, seq, toMessage);
      this.db.prepare('UPDATE runs SET to_message = MAX(to_message, ?) WHERE id = ?').run(toMessage, runId);
    })();
  }

  /** The highest message id carried by inputs up to `seq`. */
  inputMessage(runId: string, seq: number): number | undefined {
    const row = this.db
      .prepare('SELECT MAX(to_message) AS m FROM run_inputs WHERE run_id = ? AND seq <= ?')
      .get(runId, seq) as { m: number | null };
    return row.m ?? undefined;
  }

  endRun(runId: string, status: 'succeeded' | 'failed' | 'abandoned', error?: string): void {
    this.db
      .prepare(`UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running'`)
      .run(status, error ?? null, Date.now(), runId);
  }

  runById(id: string): RunRow | undefined {
    const row = this.db.prepare(`SELECT ${runCols} FROM runs WHERE id = ?`).get(id);
    return row ? toRun(row) : undefined;
  }

  runningRuns(): RunRow[] {
    return this.db.prepare(`SELECT ${runCols} FROM runs WHERE status = 'running'`).all().map(toRun);
  }

  recentRuns(limit: number): RunRow[] {
    return this.db.prepare(`SELECT ${runCols} FROM runs ORDER BY started_at DESC LIMIT ?`).all(limit).map(toRun);
  }

  // ── model usage ───────────────────────────────────────────────────────────

  recordUsage(u: TokenUsage & { groupId: number; runId: string; model?: string; at?: number }): void {
    this.db
      .prepare(
        `INSERT INTO model_usage (group_id, run_id, at, model, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(u.groupId, u.runId, u.at ?? Date.now(), u.model ?? null, u.inputTokens, u.outputTokens, u.cacheCreationInputTokens, u.cacheReadInputTokens);
  }

  /** A group's usage since `sinceMs` (e.g. the start of its day). */
  groupUsageSince(groupId: number, sinceMs: number): UsageTotals {
    return this.sumUsage('group_id = ? AND at >= ?', groupId, sinceMs);
  }

  runUsage(runId: string): UsageTotals {
    return this.sumUsage('run_id = ?', runId);
  }

  private sumUsage(where: string, ...args: unknown[]): UsageTotals {
    return this.db
      .prepare(
        `SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS inputTokens, COALESCE(SUM(output_tokens), 0) AS outputTokens,
           COALESCE(SUM(cache_creation_input_tokens), 0) AS cacheCreationInputTokens,
           COALESCE(SUM(cache_read_input_tokens), 0) AS cacheReadInputTokens
         FROM model_usage WHERE ${where}`,
      )
      .get(...args) as UsageTotals;
  }

  // ── outbox ────────────────────────────────────────────────────────────────

  /**
   * Queue a run's output for delivery and mark the messages it answers, atomically. The (run, seq) key makes a
   * replay of the same output a no-op, so a crash between "agent wrote it" and "we sent it" never double-sends.
   */
  queueOutput(o: {
    runId: string;
    seq: number;
    chatId: string;
    text: string;
    groupId: number;
    answered?: number;
    sender?: string;
    file?: { path: string; name: string };
  }): boolean {
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT OR IGNORE INTO outbox (run_id, seq, chat_id, text, sender, file_path, file_name, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(o.runId, o.seq, o.chatId, o.text, o.sender ?? null, o.file?.path ?? null, o.file?.name ?? null, Date.now());
      if (o.answered !== undefined) this.advanceCursor(o.groupId, o.answered);
      this.db.prepare('UPDATE runs SET first_output_at = COALESCE(first_output_at, ?) WHERE id = ?').run(Date.now(), o.runId);
      return info.changes === 1;
    })();
  }

  /** Whether a run's output `seq` is already queued (or sent): replaying it must not redo its side effects. */
  hasOutput(runId: string, seq: number): boolean {
    return this.db.prepare('SELECT 1 FROM outbox WHERE run_id = ? AND seq = ?').get(runId, seq) !== undefined;
  }

  pendingOutbox(): OutboxRow[] {
    return this.db
      .prepare(
        `SELECT id, run_id AS runId, seq, chat_id AS chatId, text, sender, status, attempts, file_path AS filePath,
           file_name AS fileName, created_at AS createdAt
         FROM outbox WHERE status = 'pending' ORDER BY id`,
      )
      .all() as OutboxRow[];
  }

  /** Delivered: remember the platform id and keep the reply in the chat's history. */
  markSent(outboxId: number, platformMessageId: string): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT chat_id AS chatId, text, sender, file_name AS fileName FROM outbox WHERE id = ?').get(outboxId) as
        | { chatId: string; text: string; sender: string | null; fileName: string | null }
        | undefined;
      if (!row) return;
      const text = row.fileName ? `[file: ${row.fileName}]${row.text ? ` ${row.text}` : ''}` : row.text;
      const now = Date.now();
      this.db
        .prepare(`UPDATE outbox SET status = 'sent', platform_message_id = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?`)
        .run(platformMessageId, now, outboxId);
      this.db
        .prepare(
          `INSERT OR IGNORE INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant)
           VALUES (?, ?, 'assistant', ?, ?, ?, 1)`,
        )
        .run(row.chatId, platformMessageId, row.sender ?? 'assistant', text, now);
    })();
  }

  markDeliveryFailed(outboxId: number, error: string, final: boolean): void {
    this.db
      .prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = ? WHERE id = ?`)
      .run(error, final ? 'failed' : 'pending', outboxId);
  }
}
