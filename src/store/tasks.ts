import type { DB } from './db.js';
import { plucked, stmt } from './statements.js';
import type { ScheduleType } from './types.js';

export type ContextMode = 'group' | 'isolated';
export type TaskStatus = 'active' | 'paused' | 'completed' | 'cancelled';
export type TaskRunStatus = 'claimed' | 'running' | 'succeeded' | 'failed' | 'abandoned' | 'skipped';

export interface Task {
  id: string;
  groupId: number;
  createdBy: number | null;
  prompt: string;
  scheduleType: ScheduleType;
  scheduleValue: string;
  contextMode: ContextMode;
  /** The chat its replies go to; null: the chat of the group it runs in. */
  deliverTo: string | null;
  status: TaskStatus;
  anchorAt: number;
  nextRun: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One occurrence of a task: claimed, then carried by an agent run, then finished. */
export interface TaskRun {
  id: number;
  taskId: string;
  dueAt: number;
  trigger: 'schedule' | 'manual';
  status: TaskRunStatus;
  runId: string | null;
  inputSeq: number | null;
  claimedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
  result: string | null;
}

export type TaskPatch = Partial<
  Pick<Task, 'prompt' | 'scheduleType' | 'scheduleValue' | 'contextMode' | 'deliverTo' | 'status' | 'anchorAt' | 'nextRun'>
>;

const taskCols = `id, group_id AS groupId, created_by AS createdBy, prompt, schedule_type AS scheduleType,
  schedule_value AS scheduleValue, context_mode AS contextMode, deliver_to AS deliverTo, status, anchor_at AS anchorAt, next_run AS nextRun,
  created_at AS createdAt, updated_at AS updatedAt`;
const runCols = `id, task_id AS taskId, due_at AS dueAt, trigger, status, run_id AS runId, input_seq AS inputSeq,
  claimed_at AS claimedAt, started_at AS startedAt, ended_at AS endedAt, error, result`;
const patchColumns: Record<keyof TaskPatch, string> = {
  prompt: 'prompt',
  scheduleType: 'schedule_type',
  scheduleValue: 'schedule_value',
  contextMode: 'context_mode',
  deliverTo: 'deliver_to',
  status: 'status',
  anchorAt: 'anchor_at',
  nextRun: 'next_run',
};

/** How much of a reply a task run keeps in its history. */
export const RESULT_EXCERPT_CHARS = 500;

/** The occurrence is now input `inputSeq` of agent run `runId`: from here on it counts as run. */
export function attachTaskRun(db: DB, taskRunId: number, runId: string, inputSeq: number): void {
  stmt(db, `UPDATE task_runs SET status = 'running', run_id = ?, input_seq = ?, started_at = ? WHERE id = ? AND status = 'claimed'`).run(
    runId,
    inputSeq,
    Date.now(),
    taskRunId,
  );
}

/**
 * Scheduled tasks and their occurrences. An occurrence is claimed (a row inserted and the task's next run
 * moved on, in one transaction) before anything runs it, so no timer, restart or second process can run it twice.
 */
export class TaskStore {
  constructor(private readonly db: DB) {}

  create(t: Omit<Task, 'createdAt' | 'updatedAt' | 'status' | 'deliverTo'> & { deliverTo?: string | null }, now: number): Task {
    stmt(
      this.db,
      `INSERT INTO tasks (id, group_id, created_by, prompt, schedule_type, schedule_value, context_mode, status, anchor_at,
         next_run, created_at, updated_at, deliver_to) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)`,
    ).run(t.id, t.groupId, t.createdBy, t.prompt, t.scheduleType, t.scheduleValue, t.contextMode, t.anchorAt, t.nextRun, now, now, t.deliverTo ?? null);
    return this.get(t.id)!;
  }

  get(id: string): Task | undefined {
    return stmt(this.db, `SELECT ${taskCols} FROM tasks WHERE id = ?`).get(id) as Task | undefined;
  }

  /** Tasks of one group (or all), oldest first; cancelled ones only when asked. */
  list(opts: { groupId?: number; includeCancelled?: boolean } = {}): Task[] {
    return stmt(
      this.db,
      `SELECT ${taskCols} FROM tasks WHERE (? IS NULL OR group_id = ?) AND (? OR status != 'cancelled') ORDER BY created_at, rowid`,
    ).all(opts.groupId ?? null, opts.groupId ?? null, opts.includeCancelled ? 1 : 0) as Task[];
  }

  countActive(groupId: number): number {
    return (stmt(this.db, `SELECT COUNT(*) AS n FROM tasks WHERE group_id = ? AND status = 'active'`).get(groupId) as { n: number }).n;
  }

  update(id: string, patch: TaskPatch, now: number): Task {
    const keys = Object.keys(patch) as (keyof TaskPatch)[];
    const sets = keys.map((k) => `${patchColumns[k]} = ?`);
    this.db
      .prepare(`UPDATE tasks SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`)
      .run(...keys.map((k) => patch[k] ?? null), now, id);
    return this.get(id)!;
  }

  /** When the scheduler must wake next, if ever. */
  earliestDue(): number | undefined {
    const row = stmt(this.db, `SELECT MIN(next_run) AS t FROM tasks WHERE status = 'active' AND next_run IS NOT NULL`)
      .get() as { t: number | null };
    return row.t ?? undefined;
  }

  /**
   * The groups with a scheduled occurrence due in (`after`, `until`] (not claimed: they are not due yet), soonest
   * first, each once, with whether that task runs in a fresh session. For starting sandboxes ahead of time.
   */
  dueSoon(after: number, until: number): { groupId: number; isolated: boolean }[] {
    const rows = stmt(this.db, `SELECT group_id AS groupId, context_mode AS contextMode FROM tasks
        WHERE status = 'active' AND next_run IS NOT NULL AND next_run > ? AND next_run <= ? ORDER BY next_run`)
      .all(after, until) as { groupId: number; contextMode: string }[];
    const seen = new Set<number>();
    return rows.filter((r) => !seen.has(r.groupId) && seen.add(r.groupId)).map((r) => ({ groupId: r.groupId, isolated: r.contextMode === 'isolated' }));
  }

  /** The earliest due time after `after` of an active task. */
  earliestDueAfter(after: number): number | undefined {
    const t = plucked(this.db, `SELECT MIN(next_run) FROM tasks WHERE status = 'active' AND next_run IS NOT NULL AND next_run > ?`).get(after);
    return (t as number | null) ?? undefined;
  }

  /**
   * Claim every occurrence due by `now + aheadMs` and move each task on to its following occurrence (`next`, computed
   * after max(now, due): occurrences missed while down or busy collapse into this one). A task that already has
   * an occurrence waiting gets no second one. Returns the groups that now have work, and tasks whose schedule
   * could not be evaluated (they are paused so they cannot wedge the scheduler).
   */
  claimDue(
    now: number,
    next: (task: Task, after: number) => number | null,
    aheadMs = 0,
  ): { groups: number[]; broken: { id: string; error: string }[] } {
    return this.db.transaction(() => {
      const due = stmt(this.db, `SELECT ${taskCols} FROM tasks WHERE status = 'active' AND next_run IS NOT NULL AND next_run <= ? ORDER BY next_run`)
        .all(now + aheadMs) as Task[];
      const groups = new Set<number>();
      const broken: { id: string; error: string }[] = [];
      for (const task of due) {
        let following: number | null;
        try {
          following = next(task, Math.max(now, task.nextRun!));
        } catch (err) {
          broken.push({ id: task.id, error: (err as Error).message });
          this.update(task.id, { status: 'paused', nextRun: null }, now);
          continue;
        }
        if (!this.waiting(task.id)) {
          stmt(this.db, `INSERT OR IGNORE INTO task_runs (task_id, due_at, trigger, status, claimed_at) VALUES (?, ?, 'schedule', 'claimed', ?)`)
            .run(task.id, task.nextRun, now);
          groups.add(task.groupId);
        }
        this.update(task.id, following === null ? { nextRun: null, status: 'completed' } : { nextRun: following }, now);
      }
      return { groups: [...groups], broken };
    })();
  }

  /** Queue a run of `taskId` now, outside its schedule (which it does not change). */
  claimManual(taskId: string, now: number): TaskRun {
    return this.db.transaction(() => {
      if (this.waiting(taskId)) throw new Error(`task ${taskId} already has a run waiting to start`);
      const info = stmt(this.db, `INSERT INTO task_runs (task_id, due_at, trigger, status, claimed_at) VALUES (?, ?, 'manual', 'claimed', ?)`)
        .run(taskId, now, now);
      return this.runById(Number(info.lastInsertRowid))!;
    })();
  }

  private waiting(taskId: string): boolean {
    return !!stmt(this.db, `SELECT 1 FROM task_runs WHERE task_id = ? AND status = 'claimed'`).get(taskId);
  }

  runById(id: number): TaskRun | undefined {
    return stmt(this.db, `SELECT ${runCols} FROM task_runs WHERE id = ?`).get(id) as TaskRun | undefined;
  }

  /**
   * A group's claimed occurrences that may still start, oldest first. Occurrences of tasks cancelled since
   * (or paused, unless started by hand) are marked skipped here.
   */
  startable(groupId: number): { occurrence: TaskRun; task: Task }[] {
    return this.db.transaction(() => {
      const ids = stmt(
        this.db,
        `SELECT r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
         WHERE t.group_id = ? AND r.status = 'claimed' ORDER BY r.due_at, r.id`,
      ).all(groupId) as { id: number }[];
      const out: { occurrence: TaskRun; task: Task }[] = [];
      for (const { id } of ids) {
        const occurrence = this.runById(id)!;
        const task = this.get(occurrence.taskId)!;
        if (task.status === 'cancelled' || (task.status === 'paused' && occurrence.trigger === 'schedule')) {
          this.skip(occurrence.id, `task was ${task.status} before this run started`);
        } else out.push({ occurrence, task });
      }
      return out;
    })();
  }

  /** A claimed occurrence that will not run, and why. */
  skip(taskRunId: number, reason: string): void {
    stmt(this.db, `UPDATE task_runs SET status = 'skipped', error = ?, ended_at = ? WHERE id = ? AND status = 'claimed'`)
      .run(reason, Date.now(), taskRunId);
  }

  hasClaimed(groupId: number): boolean {
    return !!stmt(this.db, `SELECT 1 FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE t.group_id = ? AND r.status = 'claimed' LIMIT 1`)
      .get(groupId);
  }

  groupsWithClaimed(): number[] {
    return (
      stmt(this.db, `SELECT DISTINCT t.group_id AS g FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE r.status = 'claimed'`)
        .all() as { g: number }[]
    ).map((r) => r.g);
  }

  attach(taskRunId: number, runId: string, inputSeq: number): void {
    attachTaskRun(this.db, taskRunId, runId, inputSeq);
  }

  /** Where the reply to input `inputSeq` of `runId` goes when that input is a task occurrence with its own target. */
  deliveryTarget(runId: string, inputSeq: number): string | undefined {
    return (
      (plucked(this.db, `SELECT t.deliver_to FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE r.run_id = ? AND r.input_seq = ?`)
        .get(runId, inputSeq) as string | null | undefined) ?? undefined
    );
  }

  /** A turn of `runId` answered inputs up to `answered`: the occurrences among them succeeded. */
  completeAnswered(runId: string, answered: number, result: string): void {
    stmt(
      this.db,
      `UPDATE task_runs SET status = 'succeeded', result = ?, ended_at = ?
       WHERE run_id = ? AND input_seq <= ? AND status = 'running'`,
    ).run(result.slice(0, RESULT_EXCERPT_CHARS), Date.now(), runId, answered);
  }

  /**
   * The run ended with occurrences it never answered. `unstarted`: the runner exited cleanly without taking them
   * up, so they go back to waiting. Otherwise they end as failed or abandoned — never run again.
   */
  endAttached(runId: string, outcome: { status: 'failed' | 'abandoned'; error: string } | 'unstarted'): TaskRun[] {
    return this.db.transaction(() => {
      const open = stmt(this.db, `SELECT ${runCols} FROM task_runs WHERE run_id = ? AND status = 'running'`).all(runId) as TaskRun[];
      if (outcome === 'unstarted') {
        stmt(this.db, `UPDATE task_runs SET status = 'claimed', run_id = NULL, input_seq = NULL, started_at = NULL WHERE run_id = ? AND status = 'running'`)
          .run(runId);
      } else {
        stmt(this.db, `UPDATE task_runs SET status = ?, error = ?, ended_at = ? WHERE run_id = ? AND status = 'running'`)
          .run(outcome.status, outcome.error, Date.now(), runId);
      }
      return open;
    })();
  }

  /** Occurrences a dead process was running: they may have had effects, so they are not repeated. */
  abandonRunning(error: string): TaskRun[] {
    return this.db.transaction(() => {
      const open = stmt(this.db, `SELECT ${runCols} FROM task_runs WHERE status = 'running'`).all() as TaskRun[];
      stmt(this.db, `UPDATE task_runs SET status = 'abandoned', error = ?, ended_at = ? WHERE status = 'running'`).run(error, Date.now());
      return open;
    })();
  }

  /** The most recent occurrences of a task, newest first. */
  history(taskId: string, limit: number): TaskRun[] {
    return stmt(this.db, `SELECT ${runCols} FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?`).all(taskId, limit) as TaskRun[];
  }
}
