import type { Group } from '../store/store.js';

export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Does `text` start with the trigger word (case-insensitive, whole word: "@Andy," yes, "@Andyx" no)? */
export function startsWithTrigger(text: string, trigger: string): boolean {
  const pattern = new RegExp(`^${escapeRegExp(trigger.trim())}(?![\\p{L}\\p{N}_])`, 'iu');
  return pattern.test(text.trimStart());
}

/** Whether a message in this group should wake its agent; the rest stays in the store as context. */
export function needsAgent(group: Pick<Group, 'isMain' | 'requiresTrigger' | 'trigger'>, text: string): boolean {
  if (group.isMain || !group.requiresTrigger) return true;
  return startsWithTrigger(text, group.trigger);
}
