// Feeding work into a group's live run: new messages and group-context task occurrences join it instead of
// waiting for a sandbox of their own.
import { formatTaskPrompt } from '../router/format.js';
import type { Group } from '../store/store.js';
import { joinable, type AgentRun } from './agent-run.js';
import { setTyping, type Core } from './core.js';
import { feedIsolated, holdForDue } from './prewarm.js';
import { pendingInputs } from './run-plan.js';

export { joinable }; // where the orchestrator looks for it

/** Feed the messages the run has not seen into it, if any of them needs the agent. */
export function pipeMessages(core: Core, group: Group, run: AgentRun): void {
  const { store, log } = core;
  const inputs = pendingInputs(core, group, run.lastSentMessage);
  if (!inputs) return;
  for (const input of inputs) store.recordInput(run.id, run.send(input.text, input.lastId), input.lastId);
  setTyping(core, group.chatId, true);
  log.debug({ group: group.folder, run: run.id }, 'piped into live run');
}

/** Feed waiting group-context task occurrences into a live run of the group's conversation. */
export function pipeTasks(core: Core, run: AgentRun): void {
  const { store, log, config } = core;
  for (const { occurrence, task } of store.tasks.startable(run.group.id)) {
    if (task.contextMode !== 'group') continue;
    const seq = run.nextSeq;
    // Recorded as running before the runner can see it: a crash from here on abandons it, never repeats it.
    store.tasks.attach(occurrence.id, run.id, seq);
    store.recordInput(run.id, seq, run.lastSentMessage);
    holdForDue(run, occurrence.dueAt); // a chat turn in flight may wait for it too: at most CLAIM_AHEAD_MS
    run.send(formatTaskPrompt(task, occurrence, config.timeZone), run.lastSentMessage);
    log.info({ group: run.group.folder, run: run.id, task: task.id, seq }, 'task piped into live run');
  }
}

/** The scheduler claimed occurrences for these groups. */
export function tasksDue(core: Core, groupIds: number[]): void {
  for (const groupId of groupIds) {
    if (core.stopping()) return;
    const run = core.live.get(groupId);
    if (joinable(run)) pipeTasks(core, run);
    else if (run) feedIsolated(core, run);
    if (!core.store.tasks.hasClaimed(groupId)) continue;
    // What is left needs the group's slot: an idle run gives it up now, a busy one after its turn.
    if (run?.idle) run.close();
    core.queue.enqueue(groupId);
  }
}

/** Every slot is taken and a group waits: the first idle run gives its slot up. */
export function closeAnIdleRun(core: Core): void {
  for (const run of core.live.values()) {
    if (run.idle) {
      run.close();
      return;
    }
  }
}
