// `carapace tasks` and `carapace tasks run <id>`: they work on the store directly, so they also work while the
// assistant is stopped; a running assistant is told through its local API to look again.
import type { Config } from '../config.js';
import { summarizeTask } from '../ops/task-ops.js';
import type { Store } from '../store/store.js';
import { CliError } from './exit.js';
import { localApi } from './local-api.js';

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Every task (cancelled ones too) with its next run and last result, times in the user's timezone. */
export function taskSummaries(store: Store, timeZone: string): TaskSummary[] {
  return store.tasks.list({ includeCancelled: true }).map((task) => summarizeTask(store, task, timeZone));
}

export type TaskSummary = ReturnType<typeof summarizeTask>;

/** Every task as text. */
export const tasksReport = (store: Store, timeZone: string): string => renderTasks(taskSummaries(store, timeZone), timeZone);

/** The summaries as text, one task per block. */
export function renderTasks(summaries: TaskSummary[], timeZone: string): string {
  if (summaries.length === 0) return 'No scheduled tasks.';
  const lines = [`Scheduled tasks (times in ${timeZone}):`];
  for (const s of summaries) {
    const to = s.deliverTo ? `  replies to ${s.deliverTo}` : '';
    lines.push(`${s.id}  group=${s.group}${to}  ${s.schedule}  ${s.status}  ${s.contextMode}  next: ${s.nextRun ?? '-'}`);
    lines.push(`    prompt: ${oneLine(s.prompt, 100)}`);
    if (s.lastRun) {
      const took = s.lastRun.durationMs === null ? '' : ` in ${(s.lastRun.durationMs / 1000).toFixed(1)} s`;
      const outcome = s.lastRun.error ?? (s.lastRun.result === undefined ? '' : s.lastRun.result === '' ? '(silent)' : oneLine(s.lastRun.result, 80));
      lines.push(`    last: ${s.lastRun.due} ${s.lastRun.trigger} ${s.lastRun.status}${took}${outcome ? `: ${outcome}` : ''}`);
    }
  }
  return lines.join('\n');
}

/**
 * Queue one run of a task now (its schedule is unchanged). The claim is in the store, so it happens exactly
 * once either way: at once when the assistant is running, else as soon as it starts.
 */
export async function runTaskNow(config: Config, store: Store, id: string, now = Date.now()): Promise<string> {
  const task = store.tasks.get(id);
  if (!task) throw new CliError(`No task "${id}"; \`carapace tasks\` lists them.`);
  if (task.status === 'cancelled') throw new CliError(`Task ${id} is cancelled.`);
  store.tasks.claimManual(id, now);
  return (await wakeAssistant(config))
    ? `Task ${id} is running now; its reply goes to ${task.deliverTo ?? 'its chat'}.`
    : `Carapace is not running: task ${id} runs as soon as it starts.`;
}

/** Ask a running assistant to rescan the store. False when none answers. */
async function wakeAssistant(config: Config): Promise<boolean> {
  const api = localApi(config);
  if (!api) return false;
  try {
    const res = await api('/api/wake', { method: 'POST', signal: AbortSignal.timeout(5000) });
    return res.status === 202;
  } catch {
    return false;
  }
}
