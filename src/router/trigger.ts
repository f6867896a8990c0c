import type { Group } from '../store/store.js';

export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Does `text` start with the trigger word (case-insensitive, whole word: "@Andy," yes, "@Andyx" no)? */
export function startsWithTrigger(text: string, trigger: string): boolean {
  const pattern = new RegExp(`^${escapeRegExp(trigger.trim())}(?![\\p{L}\\p{N}_])`, 'iu');
  return pattern.test(text.trimStart());
}

/** What the trigger check reads of a message: its text, and whether the platform says it is addressed to us. */
export interface TriggerInput {
  text: string;
  /** An @mention of the bot or a reply to it (bot channels): the platform's own way of saying "you". */
  addressed?: boolean;
}

/** Whether a message in this group should wake its agent; the rest stays in the store as context. */
export function needsAgent(group: Pick<Group, 'isMain' | 'requiresTrigger' | 'trigger'> & { mode?: Group['mode'] }, message: TriggerInput): boolean {
  if (group.mode === 'source') return false; // a watched source is read, never answered
  if (group.isMain || !group.requiresTrigger || message.addressed) return true;
  return startsWithTrigger(message.text, group.trigger);
}
