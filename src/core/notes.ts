// The host's own messages to a chat: errors, refusals and task outcomes the user should hear about.
import type { Group } from '../store/store.js';
import type { TaskRun } from '../store/tasks.js';
import type { Core } from './core.js';

/** Seq used for the host's own notes in the outbox (never produced by a runner). */
export const HOST_NOTE_SEQ = 1_000_000_000;

/** A message from the host itself, marking everything up to `upTo` as handled. Idempotent per range. */
export function postNote(core: Core, group: Group, upTo: number, text: string): void {
  core.store.queueOutput({ runId: `note-${group.id}-${upTo}`, seq: HOST_NOTE_SEQ, chatId: group.chatId, text, groupId: group.id, answered: upTo });
  core.delivery.kick();
}

/** A note about something a chat's people sent (not an answer to it): once per `key`, whatever is redelivered. */
export function postNotice(core: Core, group: Group, key: string, text: string): void {
  core.store.queueOutput({ runId: `notice-${group.id}-${key}`, seq: HOST_NOTE_SEQ, chatId: group.chatId, text, groupId: group.id });
  core.delivery.kick();
}

/** Occurrences that ended without an answer are worth a word in their chat: the user expected something. */
export function noteTaskEnds(core: Core, ended: TaskRun[]): void {
  const { store } = core;
  for (const occurrence of ended) {
    const stored = store.tasks.runById(occurrence.id);
    const task = stored && store.tasks.get(stored.taskId);
    const group = task && store.groupById(task.groupId);
    if (!stored || !group || !['failed', 'abandoned', 'skipped'].includes(stored.status)) continue;
    const text =
      stored.status === 'abandoned'
        ? `⚠️ Scheduled task ${stored.taskId} was interrupted (${stored.error}) and is not repeated.`
        : `⚠️ Scheduled task ${stored.taskId} ${stored.status === 'failed' ? 'failed' : 'did not run'}: ${stored.error}`;
    const chatId = task.deliverTo ?? group.chatId; // told where its reply was expected
    store.queueOutput({ runId: `task-run-${stored.id}`, seq: HOST_NOTE_SEQ, chatId, text, groupId: group.id });
    core.delivery.kick();
  }
}

/** The queue stopped retrying a group: tell its chat once, for everything still pending. */
export function giveUp(core: Core, groupId: number, attempts: number): void {
  const group = core.store.groupById(groupId);
  if (!group) return;
  const lastPending = core.store.lastMessageAfter(group.chatId, group.cursor);
  if (lastPending === 0) return;
  const error = core.lastErrors.get(groupId) ?? 'unknown error';
  core.log.error({ group: group.folder, attempts, error }, 'giving up on pending messages');
  postNote(core, group, lastPending, `⚠️ Sorry, I couldn't answer that: the agent failed ${attempts} times (${error}). ${failureAdvice(error)}`);
}

/** What the owner can do about a run that kept failing, by what failed. */
export function failureAdvice(error: string): string {
  if (error.startsWith('could not start sandbox'))
    return 'The sandbox would not start: run `carapace doctor` on the host to see what it needs, then send the message again.';
  return 'Send the message again to retry; if it keeps failing, `carapace status` on the host shows the failed runs and their errors.';
}

/** A destination the egress proxy refused during a run, and how the owner allows one. */
export function egressNote(target: string, reason: string): string {
  return (
    `🔒 The agent was blocked from reaching ${target} (${reason}). ` +
    'If it should reach that site, ask the assistant in the main chat to add it to this chat’s allowed domains.'
  );
}
