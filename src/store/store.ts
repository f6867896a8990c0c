// The store's one entry point: typed access to the database. Each area (chats and messages, groups, sessions,
// runs, outbox, usage, tasks) lives in its own module; every multi-step state change is one transaction there.
import { ApprovalStore } from './approvals.js';
import type { DB } from './db.js';
import * as groups from './groups.js';
import type { Group, NewGroup } from './groups.js';
import { moveMain, type MainDefaults, type MainMove } from './main-group.js';
import * as messages from './messages.js';
import type { ChatRow, MessageQuery, StoredMessage } from './messages.js';
import * as outbox from './outbox.js';
import * as owners from './owners.js';
import type { OwnerRow, Redemption } from './owners.js';
import type { OutboxRow, RunOutput } from './outbox.js';
import * as runs from './runs.js';
import type { NewRun, RunRow } from './runs.js';
import * as sessions from './sessions.js';
import * as spend from './spend.js';
import type { Extension, GroupChange, InstallBudget, ModelUsage } from './spend.js';
import { TaskStore } from './tasks.js';
import type { ChatInfo, InboundMessage } from './types.js';
import * as usage from './usage.js';
import type { UsageRecord, UsageTotals } from './usage.js';

export type { ApprovalRequest, ApprovalRow, ApprovalStatus } from './approvals.js';
export type { Group, GroupFields, GroupMode, NewGroup } from './groups.js';
export { budgetGroupOf } from './groups.js';
export type { Extension, GroupChange, InstallBudget, ModelUsage } from './spend.js';
export type { MainMove } from './main-group.js';
export type { ChatRow, MessageQuery, StoredMessage } from './messages.js';
export type { OutboxRow, RunOutput } from './outbox.js';
export { MAX_CODE_FAILURES, normaliseCode, type OwnerRow, type Redemption } from './owners.js';
export type { NewRun, RunRow } from './runs.js';
export { totalTokens, type TokenUsage, type UsageRecord, type UsageTotals } from './usage.js';

export class Store {
  readonly tasks: TaskStore;
  /** Egress requests the owner was asked about, and the answers (approvals.ts). */
  readonly approvals: ApprovalStore;

  constructor(readonly db: DB) {
    this.tasks = new TaskStore(db);
    this.approvals = new ApprovalStore(db);
  }

  // chats and messages (messages.ts)
  insertMessage = (m: InboundMessage): number | null => messages.insertMessage(this.db, m);
  chatExists = (chatId: string): boolean => messages.chatExists(this.db, chatId);
  upsertChat = (c: ChatInfo): void => messages.upsertChat(this.db, c);
  newestPlatformIds = (prefix: string) => messages.newestPlatformIds(this.db, prefix);
  listChats = (query = '', limit = 200): ChatRow[] => messages.listChats(this.db, query, limit);
  chatById = (chatId: string): ChatRow | undefined => messages.chatById(this.db, chatId);
  messagesAfter = (chatId: string, afterId: number): StoredMessage[] => messages.messagesAfter(this.db, chatId, afterId);
  newestMessagesBetween = (chatId: string, afterId: number, upTo: number, limit: number): StoredMessage[] =>
    messages.newestMessagesBetween(this.db, chatId, afterId, upTo, limit);
  countMessagesBetween = (chatId: string, afterId: number, upTo: number): number => messages.countMessagesBetween(this.db, chatId, afterId, upTo);
  lastMessageAfter = (chatId: string, afterId: number): number => messages.lastMessageAfter(this.db, chatId, afterId);
  recentMessages = (chatId: string, limit: number): StoredMessage[] => messages.recentMessages(this.db, chatId, limit);
  findMessages = (q: MessageQuery) => messages.findMessages(this.db, q);

  // groups (groups.ts, main-group.ts)
  registerGroup = (g: NewGroup): Group => groups.registerGroup(this.db, g);
  groupById = (id: number): Group | undefined => groups.groupById(this.db, id);
  groupByChat = (chatId: string): Group | undefined => groups.groupByChat(this.db, chatId);
  listGroups = (): Group[] => groups.listGroups(this.db);
  mainGroup = (): Group | undefined => groups.mainGroup(this.db);
  setContainerConfig = (groupId: number, config: Record<string, unknown>): void => groups.setContainerConfig(this.db, groupId, config);
  rebindGroup = (groupId: number, chat: { chatId: string; name: string }): Group => groups.rebindGroup(this.db, groupId, chat);
  advanceCursor = (groupId: number, messageId: number): void => groups.advanceCursor(this.db, groupId, messageId);
  moveMain = (chat: ChatInfo, defaults: MainDefaults): MainMove => moveMain(this.db, chat, defaults);
  registerThread = (parent: Group, thread: ChatInfo, folder: string) => groups.registerThread(this.db, parent, thread, folder);
  updateGroup = (groupId: number, f: groups.GroupFields): Group => groups.updateGroup(this.db, groupId, f);
  deleteGroup = (groupId: number): void => groups.deleteGroup(this.db, groupId);

  // bot channel owners and pairing codes (owners.ts)
  ownerOf = (channel: string): OwnerRow | undefined => owners.ownerOf(this.db, channel);
  issuePairingCode = (channel: string, code: string, expiresAt: number): void => owners.issueCode(this.db, channel, code, expiresAt);
  redeemPairingCode = (channel: string, text: string, owner: Omit<OwnerRow, 'channel' | 'pairedAt'>, looksLikeCode: boolean): Redemption =>
    owners.redeemCode(this.db, channel, text, owner, looksLikeCode);
  firstRefusalToday = (channel: string, userId: string, day: string): boolean => owners.firstRefusalToday(this.db, channel, userId, day);
  forgetOwner = (channel: string): void => owners.forgetOwner(this.db, channel);

  // sessions (sessions.ts)
  sessionOf = (groupId: number): string | undefined => sessions.sessionOf(this.db, groupId);
  setSession = (groupId: number, sessionId: string): void => sessions.setSession(this.db, groupId, sessionId);
  clearSession = (groupId: number): void => sessions.clearSession(this.db, groupId);

  // runs (runs.ts)
  startRun = (r: NewRun): void => runs.startRun(this.db, r);
  recordInput = (runId: string, seq: number, toMessage: number): void => runs.recordInput(this.db, runId, seq, toMessage);
  inputMessage = (runId: string, seq: number): number | undefined => runs.inputMessage(this.db, runId, seq);
  endRun = (runId: string, status: 'succeeded' | 'failed' | 'abandoned', error?: string): void => runs.endRun(this.db, runId, status, error);
  runById = (id: string): RunRow | undefined => runs.runById(this.db, id);
  runningRuns = (): RunRow[] => runs.runningRuns(this.db);
  recentRuns = (limit: number): RunRow[] => runs.recentRuns(this.db, limit);

  // model usage (usage.ts)
  recordUsage = (u: UsageRecord): void => usage.recordUsage(this.db, u);
  groupUsageSince = (groupId: number, sinceMs: number): UsageTotals => usage.groupUsageSince(this.db, groupId, sinceMs);
  usageBuckets = (sinceMs: number, bucketMs: number): usage.UsageBucket[] => usage.usageBuckets(this.db, sinceMs, bucketMs);
  runUsage = (runId: string): UsageTotals => usage.runUsage(this.db, runId);

  // spend: usage per model, budgets, extensions, warnings, settings changes (spend.ts)
  usageByModel = (sinceMs: number, groupId?: number): ModelUsage[] => spend.usageByModel(this.db, sinceMs, groupId);
  installBudget = (): InstallBudget => spend.installBudget(this.db);
  setInstallBudget = (b: InstallBudget): void => spend.setInstallBudget(this.db, b);
  addExtension = (groupId: number | null, day: string, e: Extension, at: number): void => spend.addExtension(this.db, groupId, day, e, at);
  extensionOn = (groupId: number | null, day: string): Extension => spend.extensionOn(this.db, groupId, day);
  firstAlert = (scope: string, day: string, level: number): boolean => spend.firstAlert(this.db, scope, day, level);
  rearmAlerts = (scope: string, day: string, level: number): void => spend.rearmAlerts(this.db, scope, day, level);
  logGroupChange = (c: GroupChange): void => spend.logGroupChange(this.db, c);
  groupChanges = (groupId: number, limit = 20): GroupChange[] => spend.groupChanges(this.db, groupId, limit);

  // outbox (outbox.ts)
  queueOutput = (o: RunOutput): boolean => outbox.queueOutput(this.db, o);
  hasOutput = (runId: string, seq: number): boolean => outbox.hasOutput(this.db, runId, seq);
  pendingOutbox = (): OutboxRow[] => outbox.pendingOutbox(this.db);
  markSent = (outboxId: number, platformMessageId: string): void => outbox.markSent(this.db, outboxId, platformMessageId);
  markDeliveryFailed = (outboxId: number, error: string, final: boolean): void => outbox.markDeliveryFailed(this.db, outboxId, error, final);
}
