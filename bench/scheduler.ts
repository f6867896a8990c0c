// Scheduler lateness: from a task's due time to the model request of the agent run it starts, with 1,000
// tasks in the store. Each measured occurrence is an isolated task in a fresh sandbox, which the scheduler has
// started ahead of its due time (see src/core/prewarm.ts) when a slot was free; `preStarted` counts those. The
// occurrence is claimed CLAIM_AHEAD_MS before it is due (dueToClaim is negative), its model call held until due.
import { defaultScript, text, toScriptRequest } from '../test/support/fake-anthropic.js';
import { startHarness } from '../test/support/harness.js';

export interface LatenessResult {
  tasksInStore: number;
  occurrences: number;
  spacingMs: number;
  groups: number;
  /** due → claimed by the timer (the scheduler alone). */
  dueToClaim: number[];
  /** due → the agent's first model request (timer + feeding the pre-started sandbox, or a cold start). */
  dueToModel: number[];
  /** Occurrences whose sandbox started before they were due. */
  preStarted: number;
}

export async function schedulerLateness(opts: { occurrences: number; tasksInStore: number; spacingMs: number; groups: number }): Promise<LatenessResult> {
  const h = await startHarness({
    env: { LOG_LEVEL: 'warn', CARAPACE_TASK_MIN_INTERVAL_MS: '1000', CARAPACE_MAX_SANDBOXES: String(opts.groups + 1) },
    script: (req) => (req.lastUserText.includes('<scheduled_task') ? { content: [text('<internal>done</internal>')] } : defaultScript(req)),
  });
  try {
    const { store, orchestrator } = h.app;
    // Occurrences rotate over several groups so one slow start does not queue the next (a group runs one at a time).
    const groups = Array.from({ length: opts.groups }, (_, i) =>
      orchestrator.registerGroup({ channel: 'local', chatId: `local:bench${i}`, name: `Bench ${i}`, folder: `bench${i}`, trigger: '@Andy', requiresTrigger: true, isMain: false }),
    );
    const now = Date.now();
    const start = now + 5000;
    const measured: string[] = [];
    for (let i = 0; i < opts.tasksInStore; i++) {
      const group = groups[i % groups.length];
      const base = { groupId: group.id, createdBy: group.id, prompt: `bench task ${i}`, contextMode: 'isolated' as const };
      if (i < opts.occurrences) {
        const due = start + i * opts.spacingMs;
        store.tasks.create({ ...base, id: `tbench${i}`, scheduleType: 'once', scheduleValue: new Date(due).toISOString(), anchorAt: due, nextRun: due }, now);
        measured.push(`tbench${i}`);
      } else if (i % 2 === 0) {
        // The rest of the store: recurring tasks due long after the benchmark.
        store.tasks.create({ ...base, id: `tfill${i}`, scheduleType: 'interval', scheduleValue: '1d', anchorAt: now, nextRun: now + 86_400_000 + i }, now);
      } else {
        store.tasks.create({ ...base, id: `tfill${i}`, scheduleType: 'cron', scheduleValue: '0 3 * * *', anchorAt: now, nextRun: now + 2 * 86_400_000 + i }, now);
      }
    }
    const firstRequest = new Map<string, number>();
    h.fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      const id = /<scheduled_task id="(t\w+)"/.exec(toScriptRequest(r.body).lastUserText)?.[1];
      if (id && !firstRequest.has(id)) firstRequest.set(id, r.receivedAtEpochMs);
    });
    orchestrator.scheduler.reschedule();

    const lastDue = start + (opts.occurrences - 1) * opts.spacingMs;
    const deadline = lastDue + 60_000;
    const finished = () =>
      (store.db.prepare(`SELECT COUNT(*) AS n FROM task_runs WHERE status IN ('succeeded', 'failed', 'abandoned')`).get() as { n: number }).n;
    while (finished() < opts.occurrences) {
      if (Date.now() > deadline) throw new Error(`only ${finished()} of ${opts.occurrences} task runs finished`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const dueToClaim: number[] = [];
    const dueToModel: number[] = [];
    const startedAt = store.db.prepare('SELECT r.started_at FROM task_runs t JOIN runs r ON r.id = t.run_id WHERE t.id = ?').pluck();
    let preStarted = 0;
    for (const id of measured) {
      const [occurrence] = store.tasks.history(id, 1);
      if (occurrence.status !== 'succeeded') throw new Error(`task ${id} ended ${occurrence.status}: ${occurrence.error}`);
      dueToClaim.push(occurrence.claimedAt - occurrence.dueAt);
      dueToModel.push(firstRequest.get(id)! - occurrence.dueAt);
      if ((startedAt.get(occurrence.id) as number) < occurrence.dueAt) preStarted++;
    }
    return { tasksInStore: opts.tasksInStore, occurrences: opts.occurrences, spacingMs: opts.spacingMs, groups: opts.groups, dueToClaim, dueToModel, preStarted };
  } finally {
    await h.close();
  }
}
