// Scheduled runs on the dot: shortly before a task is due, its group's sandbox starts without input, so when the
// task comes due only its prompt has to go in (a warm turn) instead of a cold sandbox start. The prompt goes in
// a second early and the model call waits at the proxy for the due time. Only into a free
// slot (never at the cost of a waiting group or a live run), never for a group whose budget is spent, and a
// pre-started sandbox that gets nothing in time closes itself.
import type { GroupPolicy } from '../groups/group-policy.js';
import { formatTaskPrompt } from '../router/format.js';
import { budgetGroupOf } from '../store/store.js';
import { PREWARM_LEAD_MS, type SoonDue } from '../tasks/scheduler.js';
import { joinable, type AgentRun, type RunMode } from './agent-run.js';
import type { Core } from './core.js';

/** A pre-started sandbox that got nothing this long after it started closes (its task moved or was paused). */
export const UNUSED_PREWARM_MS = PREWARM_LEAD_MS + 3000;

const wanted = new WeakMap<Core, Map<number, RunMode>>();
const prewarmed = new WeakSet<AgentRun>();
/** Started ahead of a task and given nothing yet (its first input would take seq 1). */
const unfed = (run: AgentRun) => prewarmed.has(run) && run.nextSeq === 1;

function wantedOf(core: Core): Map<number, RunMode> {
  let m = wanted.get(core);
  if (!m) wanted.set(core, (m = new Map()));
  return m;
}

/** Tasks of these groups come due soon: start their sandboxes now where that takes nothing from anyone. */
export function prewarm(core: Core, policy: GroupPolicy, soon: SoonDue[]): void {
  const { queue, store, config, log } = core;
  for (const { groupId, isolated } of soon) {
    if (core.stopping() || queue.activeCount >= config.maxSandboxes || queue.waitingGroups.length > 0) return;
    if (joinable(core.live.get(groupId))) continue; // the task will join the live run
    const group = store.groupById(groupId);
    if (!group || !policy.admit(budgetGroupOf(group)).ok) continue; // a spent budget gets no sandbox, early or not
    log.debug({ group: group.folder, isolated }, 'starting a sandbox ahead of a due task');
    wantedOf(core).set(groupId, isolated ? 'isolated' : 'task');
    queue.enqueue(groupId); // a group still busy (its last run closing) starts it as soon as that run ends
  }
}

/**
 * The mode of the pre-start asked for this group, if one was and its task is still coming (it is taken: asked
 * once, started once; a task cancelled or moved since gets no sandbox).
 */
export function takePrewarm(core: Core, groupId: number): RunMode | undefined {
  const mode = wantedOf(core).get(groupId);
  wantedOf(core).delete(groupId);
  const now = Date.now();
  const coming = mode && core.store.tasks.dueSoon(now - PREWARM_LEAD_MS, now + PREWARM_LEAD_MS).some((s) => s.groupId === groupId);
  return coming ? mode : undefined;
}

/** A run was started ahead of its task: it counts as idle (a waiting group may take its slot) until fed. */
export function markPrewarmed(run: AgentRun): void {
  prewarmed.add(run);
  run.idle = true;
  const unused = setTimeout(() => {
    if (unfed(run) && run.open) run.close();
  }, UNUSED_PREWARM_MS);
  unused.unref();
}

/**
 * The scheduler claims occurrences a little ahead of their due time (CLAIM_AHEAD_MS) so the agent's first-turn
 * work is done early; the run's model calls wait for the due time, so none leaves before it.
 */
export function holdForDue(run: AgentRun, dueAt: number): void {
  run.modelCallsNotBefore = Math.max(run.modelCallsNotBefore, dueAt);
}

/** An isolated pre-started run takes its first isolated occurrence (and only that: it is its own session). */
export function feedIsolated(core: Core, run: AgentRun): void {
  if (run.mode !== 'isolated' || !unfed(run) || !run.open) return;
  const next = core.store.tasks.startable(run.group.id).find((s) => s.task.contextMode === 'isolated');
  if (!next) return;
  const seq = run.nextSeq;
  // Recorded as running before the runner can see it: a crash from here on abandons it, never repeats it.
  core.store.tasks.attach(next.occurrence.id, run.id, seq);
  core.store.recordInput(run.id, seq, run.lastSentMessage);
  holdForDue(run, next.occurrence.dueAt);
  run.send(formatTaskPrompt(next.task, next.occurrence, core.config.timeZone), run.lastSentMessage);
  core.log.info({ group: run.group.folder, run: run.id, task: next.task.id }, 'task fed into its pre-started sandbox');
}
