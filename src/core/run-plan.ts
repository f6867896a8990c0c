// What a group's agent has to do: pending messages turned into inputs, and waiting task occurrences.
import type { Config } from '../config.js';
import { formatMessages, formatTaskPrompt } from '../router/format.js';
import { maySessionCommand, sessionCommand } from '../router/commands.js';
import { needsAgent } from '../router/trigger.js';
import type { Group, Store, StoredMessage } from '../store/store.js';
import { pendingForPrompt, scanPending } from './pending.js';
import type { TaskRun } from '../store/tasks.js';
import type { RunMode } from './agent-run.js';

export interface RunInput {
  text: string;
  /** The newest message this input covers (the cursor moves there once it is answered). */
  lastId: number;
}

export interface RunPlan {
  mode: RunMode;
  inputs: RunInput[];
  taskRun?: TaskRun;
}

type PlanDeps = { store: Store; config: Pick<Config, 'timeZone' | 'promptBudget'> };

/**
 * Turn pending messages into the run's inputs: chat messages are batched into one <messages> prompt; a
 * /compact is its own raw input so the SDK sees the command; a /clear was already handled on arrival.
 * `omitted` older messages were already left out before `messages` (the first batch's prompt says so).
 */
export function toInputs({ config }: PlanDeps, group: Group, messages: StoredMessage[], omitted = 0): RunInput[] {
  const inputs: RunInput[] = [];
  let batch: StoredMessage[] = [];
  const flush = () => {
    if (batch.length > 0) inputs.push({ text: formatMessages(batch, config.timeZone, config.promptBudget, inputs.length === 0 ? omitted : 0), lastId: batch.at(-1)!.id });
    batch = [];
  };
  for (const m of messages) {
    const command = needsAgent(group, m) ? sessionCommand(group, m.text) : undefined;
    if (command === 'compact' && maySessionCommand(group)) {
      flush();
      inputs.push({ text: '/compact', lastId: m.id });
    } else if (!command) batch.push(m);
  }
  flush();
  return inputs;
}

/** Unanswered messages that need the agent, or task occurrences waiting to run? (Reads only what is new.) */
export function hasWork({ store }: PlanDeps, group: Group): boolean {
  return store.tasks.hasClaimed(group.id) || scanPending(store, group, group.cursor).active.length > 0;
}

/** The inputs for every pending message after `after`, if any of them needs the agent. */
export function pendingInputs(deps: PlanDeps, group: Group, after: number): RunInput[] | undefined {
  const pending = pendingForPrompt(deps.store, group, after, deps.config.promptBudget);
  return pending && toInputs(deps, group, pending.messages, pending.omitted);
}

/**
 * What a new run of the group starts with: a waiting task occurrence first (it has a due time to keep), else
 * the pending messages (as one or more inputs). Undefined when there is nothing to do.
 */
export function planRun(deps: PlanDeps, group: Group): RunPlan | undefined {
  const [next] = deps.store.tasks.startable(group.id);
  if (next) {
    const mode = next.task.contextMode === 'isolated' ? 'isolated' : 'task';
    const text = formatTaskPrompt(next.task, next.occurrence, deps.config.timeZone);
    return { mode, inputs: [{ text, lastId: group.cursor }], taskRun: next.occurrence };
  }
  const inputs = pendingInputs(deps, group, group.cursor);
  return inputs && inputs.length > 0 ? { mode: 'chat', inputs } : undefined;
}
