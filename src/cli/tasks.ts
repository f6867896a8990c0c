// `carapace tasks` and `carapace tasks run <id>`: they work on the store directly, so they also work while the
// assistant is stopped; a running assistant is told through its local API to look again.
import { existsSync } from 'node:fs';
import { localChatToken } from '../app.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { summarizeTask } from '../ops/task-ops.js';
import type { Store } from '../store/store.js';
import { localApiUrl } from './local-api.js';

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Every task (cancelled ones too) with its next run and last result, times in the user's timezone. */
export function tasksReport(store: Store, timeZone: string): string {
  const tasks = store.tasks.list({ includeCancelled: true });
  if (tasks.length === 0) return 'No scheduled tasks.';
  const lines = [`Scheduled tasks (times in ${timeZone}):`];
  for (const task of tasks) {
    const s = summarizeTask(store, task, timeZone);
    lines.push(`${s.id}  group=${s.group}  ${s.schedule}  ${s.status}  ${s.contextMode}  next: ${s.nextRun ?? '-'}`);
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
  if (!task) throw new Error(`No task "${id}"; \`carapace tasks\` lists them.`);
  if (task.status === 'cancelled') throw new Error(`Task ${id} is cancelled.`);
  store.tasks.claimManual(id, now);
  return (await wakeAssistant(config))
    ? `Task ${id} is running now; its reply goes to its chat.`
    : `Carapace is not running: task ${id} runs as soon as it starts.`;
}

/** Ask a running assistant to rescan the store. False when none answers. */
async function wakeAssistant(config: Config): Promise<boolean> {
  if (!existsSync(dataPaths(config.dataDir).localToken)) return false;
  try {
    const res = await fetch(`${localApiUrl(config)}api/wake`, {
      method: 'POST',
      headers: { authorization: `Bearer ${localChatToken(config.dataDir)}` },
      signal: AbortSignal.timeout(5000),
    });
    return res.status === 202;
  } catch {
    return false;
  }
}
