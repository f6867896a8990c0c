// Where a task's replies may go. The main chat may send a task's replies to any registered chat that is not a
// watched source; every other group's tasks answer in their own chat. Who asks comes from the run, never from args.
import type { Group } from '../store/store.js';
import { OpError, type OpContext } from './op.js';

/** A registered group by folder or chat id, or an OpError naming what to use instead. */
export function registeredGroup(ctx: Pick<OpContext, 'store'>, target: string): Group {
  const group = ctx.store.listGroups().find((g) => g.folder === target || g.chatId === target);
  if (!group) throw new OpError(`No registered group "${target}": use a folder or chat id from list_groups.`);
  return group;
}

/** A watched source never runs an agent and is never written to. */
export function assertNotSource(group: Group, doing: string): void {
  if (group.mode === 'source') {
    throw new OpError(`"${group.name}" (${group.chatId}) is a watched source: ${doing}. Read it with read_messages from the main chat instead.`);
  }
}

/**
 * The chat a task of `taskGroup` delivers to, as stored: null for the task's own chat (also when `target` names
 * it), else the other chat's id — allowed only when the asking chat is main.
 */
export function deliveryChat(ctx: Pick<OpContext, 'store' | 'group'>, taskGroup: Group, target: string): string | null {
  const to = registeredGroup(ctx, target);
  if (to.id === taskGroup.id) return null;
  if (!ctx.group.isMain) {
    throw new OpError(`Only the main chat can deliver a task's replies to another chat; a task of this chat answers here, not in "${target}".`);
  }
  assertNotSource(to, 'nothing is ever sent there');
  return to.chatId;
}
