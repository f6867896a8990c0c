// A group's pending messages at O(new work): people may write thousands of messages to a group that needs a
// trigger without waking its agent. Those stay pending (they are context for the next answer), so a naive check
// would read the whole untriggered backlog on every look. Instead each group keeps a mark: a range of message
// ids already known to hold nothing for the agent; a look reads only what arrived after it, and a prompt reads
// only the backlog's newest messages (the prompt budget keeps no more).
import type { PromptBudget } from '../router/format.js';
import { needsAgent } from '../router/trigger.js';
import type { Group, Store, StoredMessage } from '../store/store.js';

/** People's messages in (`from`, `to`] of the group's chat need no agent (so hold no session command either). */
interface QuietRange {
  key: string;
  from: number;
  to: number;
}

const ranges = new WeakMap<Store, Map<number, QuietRange>>();

/** What decides `needsAgent` for the group's messages: a change of any of it voids the range. */
const rangeKey = (g: Group) => JSON.stringify([g.chatId, g.isMain, g.requiresTrigger, g.trigger, g.mode]);

function rangeOf(store: Store, group: Group, after: number): QuietRange {
  let byGroup = ranges.get(store);
  if (!byGroup) ranges.set(store, (byGroup = new Map()));
  const key = rangeKey(group);
  let range = byGroup.get(group.id);
  // A look from inside the range still knows (after, to] is quiet; from anywhere else it starts afresh.
  if (!range || range.key !== key || after < range.from || after > range.to) byGroup.set(group.id, (range = { key, from: after, to: after }));
  return range;
}

export interface Pending {
  /** Messages after `after` up to the quiet range's end: none needs the agent. */
  quietTo: number;
  /** Everything after the quiet range, starting with the first message that needs the agent (empty: none does). */
  active: StoredMessage[];
}

/** Scan what arrived since the group's quiet range and extend the range over every message that needs no agent. */
export function scanPending(store: Store, group: Group, after: number): Pending {
  const range = rangeOf(store, group, after);
  const fresh = store.messagesAfter(group.chatId, range.to);
  const firstActive = fresh.findIndex((m) => needsAgent(group, m));
  const quiet = firstActive < 0 ? fresh : fresh.slice(0, firstActive);
  if (quiet.length > 0) range.to = quiet.at(-1)!.id;
  return { quietTo: range.to, active: firstActive < 0 ? [] : fresh.slice(firstActive) };
}

/**
 * The messages a prompt covering everything after `after` is built from: the quiet backlog's newest
 * `budget.maxMessages` (older ones would be cut anyway; `omitted` counts them) and then the active part.
 * Undefined when no message needs the agent.
 */
export function pendingForPrompt(store: Store, group: Group, after: number, budget: PromptBudget) {
  const { quietTo, active } = scanPending(store, group, after);
  if (active.length === 0) return undefined;
  const tail = quietTo > after ? store.newestMessagesBetween(group.chatId, after, quietTo, budget.maxMessages) : [];
  const omitted = tail.length === budget.maxMessages ? store.countMessagesBetween(group.chatId, after, quietTo) - tail.length : 0;
  return { messages: [...tail, ...active], omitted };
}
