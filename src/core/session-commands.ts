// /clear and /compact from chat, and which session a new run resumes.
import { existsSync } from 'node:fs';
import { archiveOnClear } from '../memory/transcript.js';
import { maySessionCommand, sessionCommand } from '../router/commands.js';
import type { Group } from '../store/store.js';
import { parseReply } from './approval-card.js';
import type { Core } from './core.js';
import { approvalDesk } from './egress-approvals.js';
import { postNote } from './notes.js';

/**
 * Act on a session command the moment it arrives. True when the message needs nothing more from the agent
 * (refused, or /clear done); a /compact goes to the agent as its own input.
 */
export function handledOnArrival(core: Core, group: Group, messageId: number, text: string): boolean {
  if (answeredApproval(core, group, messageId, text)) return true;
  const command = sessionCommand(group, text);
  if (!command) return false;
  if (!maySessionCommand(group)) {
    postNote(core, group, messageId, `/${command} is only available in the main chat.`);
    return true;
  }
  if (command === 'clear') {
    clearSession(core, group, messageId);
    return true;
  }
  if (command === 'compact' && !core.store.sessionOf(group.id)) {
    postNote(core, group, messageId, 'There is no conversation to compact yet.');
    return true;
  }
  return false;
}

/** "allow 3" / "allow 3 chat" / "deny 3" in the main chat: the owner answers an egress approval card by text. */
function answeredApproval(core: Core, group: Group, messageId: number, text: string): boolean {
  const reply = group.isMain ? parseReply(text) : undefined;
  if (!reply) return false;
  postNote(core, group, messageId, approvalDesk(core.config.dataDir).decide(reply.id, reply.choice, `main:${group.chatId}`));
  return true;
}

/** /clear: archive the conversation into the group folder, forget the session, let the live run go. */
function clearSession(core: Core, group: Group, messageId: number): void {
  const { store } = core;
  const saved = archiveSession(core, group);
  store.clearSession(group.id);
  const run = core.live.get(group.id);
  if (run) {
    run.retired = true; // later messages start a fresh run instead of joining the old conversation
    run.close();
  }
  postNote(core, group, messageId, `Started a fresh conversation.${saved}`);
}

/**
 * Save the group's transcript as Markdown: first into a host-only archive, then a copy into the group's
 * conversations/ through the safe path. Returns what to tell the chat (where it is, or why it could not be saved).
 */
function archiveSession(core: Core, group: Group): string {
  const { store, log, config, paths } = core;
  const sessionId = store.sessionOf(group.id);
  return sessionId ? archiveOnClear({ paths, folder: group.folder, workspace: group.workspace, sessionId, owner: config.sandbox, log }) : '';
}

/** The group's session, if its transcript exists (a run killed in its first turn leaves an id but no transcript). */
export function resumableSession(core: Core, group: Group): string | undefined {
  const sessionId = core.store.sessionOf(group.id);
  if (!sessionId || existsSync(core.paths.transcript(group.folder, sessionId))) return sessionId;
  core.log.warn({ group: group.folder, sessionId }, 'session has no transcript; starting a fresh one');
  return undefined;
}
