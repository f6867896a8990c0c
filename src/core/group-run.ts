// One run of a group's agent, from plan to outcome: admit it against the budget, start the sandbox, wait for it,
// then decide what its end means (done, retry, or a note to the chat).
import type { Output } from '../ipc/protocol.js';
import type { RunOutcome } from '../queue/group-queue.js';
import { budgetGroupOf, type Group } from '../store/store.js';
import type { GroupPolicy } from '../groups/group-policy.js';
import { AgentRun, newRunId, type RunDeps, type RunExit } from './agent-run.js';
import { setTyping, type Core } from './core.js';
import { pipeMessages, pipeTasks } from './live-runs.js';
import { holdForDue, markPrewarmed, takePrewarm } from './prewarm.js';
import { egressNote, noteTaskEnds, postNote, postNotice } from './notes.js';
import type { OutputContext } from './outputs.js';
import { hasWork, planRun, type RunPlan } from './run-plan.js';
import { reserveRefusal } from './run-limits.js';
import { resumableSession } from './session-commands.js';

export interface GroupRunDeps {
  /** What each AgentRun needs, the group's policy (budget, egress, mounts) among it. */
  runDeps: RunDeps;
  onOutput: (ctx: OutputContext, output: Output) => void;
}

export async function runGroup(core: Core, deps: GroupRunDeps, groupId: number, attempt: number): Promise<RunOutcome> {
  const group = core.store.groupById(groupId);
  if (!group || core.stopping()) return 'done';
  const ahead = takePrewarm(core, group.id); // taken either way: real work makes it moot
  const plan = planRun(core, group) ?? (ahead && { mode: ahead, inputs: [] });
  if (!plan) return 'done';
  if (!admitted(core, deps.runDeps.policy, group, plan)) return 'done';
  const run = launch(core, deps, group, plan, attempt);
  let exit: RunExit;
  try {
    const finished = await run.start(plan.inputs[0]?.text, plan.mode === 'isolated' ? undefined : resumableSession(core, group));
    exit = await finished;
  } catch (err) {
    exit = { ok: false, error: `could not start sandbox: ${(err as Error).message}` };
  } finally {
    core.live.delete(groupId);
    setTyping(core, group.chatId, false);
  }
  return settle(core, group, run, exit, attempt);
}

/**
 * A group whose daily budget is spent, or a host below its reserve of free disk, gets no sandbox: its task is
 * skipped, its messages get a note.
 */
function admitted(core: Core, policy: GroupPolicy, group: Group, plan: RunPlan): boolean {
  const budget = policy.admit(budgetGroupOf(group));
  const refusal = budget.ok ? lowDiskRefusal(core) : budget.message;
  if (refusal === undefined) return true;
  if (plan.inputs.length === 0) return false; // a sandbox ahead of a task: nobody asked, nobody to tell
  const { store, log } = core;
  log.warn({ group: group.folder, refusal }, 'not starting the agent');
  if (plan.taskRun) {
    store.tasks.skip(plan.taskRun.id, refusal);
    noteTaskEnds(core, [plan.taskRun]);
    if (hasWork(core, store.groupById(group.id)!)) core.queue.enqueue(group.id); // its messages get their own note
  } else postNote(core, group, plan.inputs[0].lastId, `⚠️ ${refusal}`);
  return false;
}

/** Below the host's reserve of free disk no run starts: SQLite must keep room to write for every chat. */
function lowDiskRefusal(core: Core): string | undefined {
  try {
    return reserveRefusal(core.config.dataDir, core.config.sandbox.diskReserveMb * 1024 * 1024);
  } catch (err) {
    core.log.warn({ err }, 'could not read the free disk space; starting the run anyway');
    return undefined;
  }
}

/** Record the run, queue its later inputs and make it the group's live run (the sandbox starts next). */
function launch(core: Core, deps: GroupRunDeps, group: Group, plan: RunPlan, attempt: number): AgentRun {
  const { store, log } = core;
  const [first, ...rest] = plan.inputs;
  const runId = newRunId();
  const isolated = plan.mode === 'isolated';
  const upTo = first?.lastId ?? group.cursor;
  const run = new AgentRun(deps.runDeps, runId, group, (r, o) => deps.onOutput({ group: r.group, runId: r.id, isolated, run: r }, o), upTo, plan.mode);
  if (!first) markPrewarmed(run);
  if (plan.taskRun) holdForDue(run, plan.taskRun.dueAt);
  store.startRun({
    id: runId,
    groupId: group.id,
    attempt,
    fromMessage: group.cursor,
    toMessage: upTo,
    sandbox: run.sandboxName,
    isolated,
    taskRun: plan.taskRun?.id,
  });
  for (const input of rest) store.recordInput(runId, run.send(input.text, input.lastId), input.lastId);
  run.onEgressDenied = (target, reason) => postNotice(core, group, `egress-${runId}-${target}`, egressNote(target, reason));
  core.live.set(group.id, run);
  if (plan.mode === 'chat') setTyping(core, group.chatId, true);
  if (plan.mode === 'task') {
    // Whatever else waits for this conversation joins the same sandbox.
    pipeMessages(core, group, run);
    pipeTasks(core, run);
  }
  log.info({ group: group.folder, run: runId, attempt, mode: plan.mode, task: plan.taskRun?.taskId }, 'starting agent');
  return run;
}

/** What the run's end means for its group: done, a retry, or a note to the chat. */
function settle(core: Core, group: Group, run: AgentRun, exit: RunExit, attempt: number): RunOutcome {
  const { store, log } = core;
  const cursor = store.groupById(group.id)!.cursor;
  const unanswered = run.lastSentMessage > cursor;
  if (core.stopping()) {
    // Whatever it had not answered stays after the cursor and is picked up on the next start.
    store.endRun(run.id, unanswered ? 'abandoned' : 'succeeded', unanswered ? exit.error : undefined);
    noteTaskEnds(core, store.tasks.endAttached(run.id, { status: 'abandoned', error: 'the assistant shut down during the run' }));
    log.info({ group: group.folder, run: run.id, unanswered }, 'run stopped for shutdown');
    return 'done';
  }
  store.endRun(run.id, exit.ok ? 'succeeded' : 'failed', exit.error);
  // A clean exit that never took an occurrence up leaves it waiting; a failed run may have acted on it.
  noteTaskEnds(core, store.tasks.endAttached(run.id, exit.ok ? 'unstarted' : { status: 'failed', error: exit.error ?? 'unknown error' }));
  if (exit.ok || !unanswered) {
    if (!exit.ok) log.warn({ group: group.folder, run: run.id, error: exit.error }, 'run ended with an error');
    else log.info({ group: group.folder, run: run.id }, 'run finished');
    if (hasWork(core, store.groupById(group.id)!)) core.queue.enqueue(group.id); // arrived as it closed
    return 'done';
  }
  return failed(core, group, run, exit, attempt);
}

/** A run that failed with messages unanswered: retry, unless a retry could answer twice or cannot help. */
function failed(core: Core, group: Group, run: AgentRun, exit: RunExit, attempt: number): RunOutcome {
  const { log } = core;
  if (run.cancelled) {
    log.info({ group: group.folder, run: run.id, reason: run.cancelled }, 'run stopped by the owner');
    postNote(core, group, run.lastSentMessage, `⏹ Stopped: ${run.cancelled}.`);
    return 'done';
  }
  if (run.credentialRefusal) {
    log.error({ group: group.folder, run: run.id }, run.credentialRefusal);
    postNote(core, group, run.lastSentMessage, `⚠️ I can't answer: ${run.credentialRefusal}`);
    return 'done';
  }
  if (run.limitHit) {
    // The same wall would stop a retry: the chat hears which limit it was and how the owner raises it.
    log.warn({ group: group.folder, run: run.id, limit: run.limitHit }, 'run stopped at a limit');
    postNote(core, group, run.lastSentMessage, `⚠️ ${run.limitHit}`);
    return 'done';
  }
  if (run.budgetRefusal) {
    log.warn({ group: group.folder, run: run.id }, 'daily token budget spent during the run');
    postNote(core, group, run.lastSentMessage, `⚠️ ${run.budgetRefusal}`);
    return 'done';
  }
  log.warn({ group: group.folder, run: run.id, attempt, error: exit.error }, 'run failed');
  core.lastErrors.set(group.id, exit.error ?? 'unknown error');
  if (run.spokeInTurn) {
    // It already told the chat something for this turn; a retry could answer the same message twice.
    postNote(core, group, run.lastSentMessage, `⚠️ I ran into an error before finishing: ${exit.error}`);
    return 'done';
  }
  return 'retry';
}
