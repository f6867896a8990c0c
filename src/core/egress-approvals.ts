// Egress approvals: a request for a host not on a group's list is held by its proxy while the owner is asked with
// a card in the main chat (allow once / allow for this chat / deny). Duplicates while one is pending share the
// card; no answer within the configured time refuses it. Only the owner of the channel the card went to may
// answer. A restart refuses what was pending (the held connections died with the process): card numbers are
// never reused, so an old card cannot answer a new request.
import type { CardAnswerer } from '../channels/channel.js';
import { groupSettings } from '../groups/settings-schema.js';
import { changeGroup } from '../ops/group-ops.js';
import type { ApprovalRequest, ApprovalStatus, Group } from '../store/store.js';
import { registerAsker, type ApprovalVerdict, type EgressAsker, type HeldRequest } from './approval-asker.js';
import { approvalCard, CHOICES, listEntry, statusWords, type Choice } from './approval-card.js';
import { channelOf, type Core } from './core.js';

interface Pending {
  id: number;
  groupId: number;
  key: string;
  /** The main chat the card went to: its channel's owner is the one who may answer. */
  chatId: string;
  verdict: Promise<ApprovalVerdict>;
  settle: (v: ApprovalVerdict) => void;
  timer: NodeJS.Timeout;
}

/** How long the agent's own reason (request_access) is shown on cards for that host. */
const REASON_KEPT_MS = 10 * 60_000;
const REASON_MAX = 200;
/** Cards one chat may have waiting at once: an agent cannot flood the owner's chat with requests. */
export const MAX_PENDING_PER_CHAT = 5;

export class ApprovalDesk implements EgressAsker {
  private core: Core | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly byKey = new Map<string, Pending>();
  private readonly reasons = new Map<string, { text: string; at: number }>();

  /** A (re)started orchestrator takes over: whatever was pending is refused, in memory and in the store. */
  bind(core: Core): void {
    for (const p of [...this.pending.values()]) this.finish(p, { allowed: false, reason: 'Carapace restarted before the owner answered' });
    const expired = core.store.approvals.expireAll('restart', Date.now());
    if (expired > 0) core.log.warn({ expired }, 'egress approvals pending at the last stop were refused');
    this.core = core;
  }

  /** The agent's one-line reason for wanting `host` (request_access), shown on the next card for it. */
  noteReason(groupId: number, host: string, reason: string): void {
    const text = reason.replace(/\s+/g, ' ').trim().slice(0, REASON_MAX);
    this.reasons.set(`${groupId}|${host.toLowerCase()}`, { text, at: Date.now() });
  }

  /** Ask the owner about a held request; resolves when they answer, or refused when the time is up. */
  ask(groupId: number, req: HeldRequest): Promise<ApprovalVerdict> {
    const core = this.core;
    const group = core?.store.groupById(groupId);
    const main = core?.store.mainGroup();
    if (!core || !group || !main) return Promise.resolve({ allowed: false, reason: 'there is no owner to ask', asked: false });
    if (group.containerConfig.egressNeverAsk === true) return Promise.resolve({ allowed: false, reason: 'this chat is set to never ask the owner', asked: false });
    const key = `${groupId}|${req.host}:${req.port}`;
    const shared = this.byKey.get(key);
    if (shared) {
      core.log.info({ card: shared.id, group: group.folder, host: req.host, port: req.port, method: req.method }, 'egress approval: a duplicate waits on the pending card');
      return shared.verdict;
    }
    const waiting = [...this.pending.values()].filter((p) => p.groupId === groupId).length;
    if (waiting >= MAX_PENDING_PER_CHAT) return Promise.resolve({ allowed: false, reason: `${waiting} requests of this chat are already waiting for the owner`, asked: false });
    return this.open(core, group, main.chatId, key, req);
  }

  /** A card's button was pressed: refused unless `from` is the owner of the channel the card went to. */
  answer(cardId: string, choice: string, from: CardAnswerer): string {
    const core = this.core;
    const id = Number(cardId);
    if (!core || !Number.isSafeInteger(id) || !(CHOICES as readonly string[]).includes(choice)) return 'That is not an answer Carapace knows.';
    const row = core.store.approvals.byId(id);
    const chatId = this.pending.get(id)?.chatId ?? core.store.mainGroup()?.chatId;
    const channel = chatId ? channelOf(core, chatId) : undefined;
    const ownerId = from.channel === 'local' ? 'local:owner' : core.store.ownerOf(from.channel)?.userId;
    if (!row || !channel || channel.name !== from.channel || !ownerId || from.userId !== ownerId) {
      core.log.warn({ card: cardId, choice, from }, 'egress approval: an answer from someone who is not the owner was refused');
      return 'Only the owner can answer this.';
    }
    return this.decide(id, choice as Choice, `${from.channel}:${from.userId}`);
  }

  /** Decide request `id` with the owner's authority (a button press checked above, or a reply in the main chat). */
  decide(id: number, choice: Choice, by: string): string {
    const core = this.core;
    const row = core?.store.approvals.byId(id);
    if (!core || !row) return `There is no web access request ${id}.`;
    const p = this.pending.get(id);
    if (row.status !== 'pending' || !p) return `Request ${id} (${row.host}) was already ${statusWords(row.status === 'pending' ? 'expired' : row.status)}.`;
    let note = '';
    if (choice === 'chat') note = this.addToList(core, row.groupId, row.host, row.port, by);
    this.record(core, p, choice, by);
    const words = { once: `the owner allowed it once`, chat: `the owner allowed it for this chat`, deny: `the owner denied it` }[choice];
    this.finish(p, { allowed: choice !== 'deny', reason: words });
    return `Request ${id}: ${row.host}:${row.port} for "${row.folder}" ${statusWords(choice)}.${note}`;
  }

  private open(core: Core, group: Group, chatId: string, key: string, req: HeldRequest): Promise<ApprovalVerdict> {
    const reason = this.reasonFor(group.id, req.host);
    const request: ApprovalRequest = { groupId: group.id, folder: group.folder, ...req, reason };
    const id = core.store.approvals.open(request, Date.now());
    let settle!: (v: ApprovalVerdict) => void;
    const verdict = new Promise<ApprovalVerdict>((resolve) => (settle = resolve));
    const waitMs = core.config.egress.approvalTimeoutMs;
    const timer = setTimeout(() => this.expire(p, `the owner did not answer within ${Math.round(waitMs / 1000)} s`), waitMs);
    timer.unref();
    const p: Pending = { id, groupId: group.id, key, chatId, verdict, settle, timer };
    this.pending.set(id, p);
    this.byKey.set(key, p);
    core.log.info({ card: id, group: group.folder, host: req.host, port: req.port, method: req.method }, 'egress approval asked');
    void this.sendCard(core, p, approvalCard(id, group, request, waitMs));
    return verdict;
  }

  private async sendCard(core: Core, p: Pending, card: ReturnType<typeof approvalCard>): Promise<void> {
    const channel = channelOf(core, p.chatId);
    try {
      if (!channel) throw new Error(`no channel owns ${p.chatId}`);
      await (channel.sendCard ? channel.sendCard(p.chatId, card) : channel.send(p.chatId, card.text));
    } catch (err) {
      core.log.warn({ card: p.id, err: (err as Error).message }, 'egress approval: the card could not be sent');
      this.expire(p, `the owner could not be asked (${(err as Error).message})`);
    }
  }

  private expire(p: Pending, reason: string): void {
    if (!this.core || this.pending.get(p.id) !== p) return;
    this.record(this.core, p, 'expired', 'timeout');
    this.finish(p, { allowed: false, reason });
  }

  private record(core: Core, p: Pending, status: Exclude<ApprovalStatus, 'pending'>, by: string): void {
    core.store.approvals.decide(p.id, status, by, Date.now());
    core.log.info({ card: p.id, status, by }, 'egress approval decided');
  }

  private finish(p: Pending, verdict: ApprovalVerdict): void {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    if (this.byKey.get(p.key) === p) this.byKey.delete(p.key);
    p.settle(verdict);
  }

  /** "Allow for this chat": the host joins the group's list through the one settings path (validated, logged). */
  private addToList(core: Core, groupId: number, host: string, port: number, by: string): string {
    const group = core.store.groupById(groupId);
    if (!group) return '';
    const list = groupSettings(group).allowedDomains ?? core.config.egress.defaultAllow;
    const entry = listEntry(host, port);
    if (list.includes(entry)) return '';
    try {
      changeGroup(core.store, group, { allowedDomains: [...list, entry] }, `owner:${by}`, () => []);
      return ` ${entry} is on its list now.`;
    } catch (err) {
      core.log.warn({ group: group.folder, entry, err: (err as Error).message }, 'egress approval: the list could not be changed');
      return ` Its list could not be changed (${(err as Error).message}), so this is allowed once.`;
    }
  }

  private reasonFor(groupId: number, host: string): string | undefined {
    const key = `${groupId}|${host.toLowerCase()}`;
    const noted = this.reasons.get(key);
    if (!noted || Date.now() - noted.at > REASON_KEPT_MS) return undefined;
    return noted.text;
  }
}

const desks = new Map<string, ApprovalDesk>();

/** The approval desk of the install whose data folder this is (its proxies and its channels meet there). */
export function approvalDesk(dataDir: string): ApprovalDesk {
  let desk = desks.get(dataDir);
  if (!desk) {
    desks.set(dataDir, (desk = new ApprovalDesk()));
    registerAsker(dataDir, desk);
  }
  return desk;
}
