import type { Group } from '../store/store.js';
import { startsWithTrigger } from './trigger.js';

export type SessionCommand = 'clear' | 'compact';

/** "/clear" or "/compact", alone or right after the group's trigger ("@Andy /compact"). */
export function sessionCommand(group: Pick<Group, 'trigger'>, text: string): SessionCommand | undefined {
  let rest = text.trim();
  if (startsWithTrigger(rest, group.trigger)) rest = rest.trimStart().slice(group.trigger.trim().length).replace(/^[\s,:]+/, '');
  const match = /^\/(clear|compact)$/i.exec(rest.trim());
  return match ? (match[1].toLowerCase() as SessionCommand) : undefined;
}

/** Session commands change what the agent remembers: the main chat may always, a group only when allowed. */
export function maySessionCommand(group: Pick<Group, 'isMain' | 'containerConfig'>): boolean {
  return group.isMain || group.containerConfig.allowSessionCommands === true;
}
