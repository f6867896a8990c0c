// The host side of the task tools. A group manages only its own tasks; main sees and manages every group's
// and may schedule for any. Who is asking comes from OpContext.group (the run's own group), never from args.
import { randomBytes } from 'node:crypto';
import type { Group, Store } from '../store/store.js';
import type { Task, TaskPatch } from '../store/tasks.js';
import { listTasksArgs, scheduleTaskArgs, taskIdArgs, updateTaskArgs } from '../ipc/task-args.js';
import { describeSchedule, nextOccurrence, parseSchedule, ScheduleError } from '../tasks/schedule.js';
import { formatTime } from '../time.js';
import { op, OpError, type Op, type OpContext, type TaskEnv } from './op.js';
import { assertNotSource, deliveryChat, registeredGroup } from './delivery-target.js';

/** A runaway agent must not be able to fill the scheduler: held when a task is created, resumed or revived. */
export const MAX_ACTIVE_TASKS_PER_GROUP = 100;

/** Why one more active task in the group is refused, or false when it has room. */
function capRefusal(ctx: OpContext, groupId: number, doing: string): string | false {
  if (ctx.store.tasks.countActive(groupId) < MAX_ACTIVE_TASKS_PER_GROUP) return false;
  const folder = ctx.store.groupById(groupId)?.folder ?? String(groupId);
  return (
    `The group "${folder}" already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks, the most a group may have, so ${doing} is refused. ` +
    'Cancel or pause one of them first (list_tasks shows them).'
  );
}

function assertRoomFor(ctx: OpContext, groupId: number, doing: string): void {
  const refused = capRefusal(ctx, groupId, doing);
  if (refused) throw new OpError(refused);
}

export const newTaskId = () => `t${randomBytes(4).toString('hex')}`;

/** Schedule errors are the agent's to fix; say exactly what was wrong. */
function schedule(type: string, value: string, env: TaskEnv) {
  try {
    return parseSchedule(type, value, { timeZone: env.timeZone, now: env.now(), minIntervalMs: env.minIntervalMs });
  } catch (err) {
    if (err instanceof ScheduleError) throw new OpError(err.message);
    throw err;
  }
}

/** The task, if the asking group may see it. Another group's task looks exactly like a missing one. */
function visibleTask(ctx: OpContext, id: string): Task {
  const task = ctx.store.tasks.get(id);
  if (!task || (!ctx.group.isMain && task.groupId !== ctx.group.id)) throw new OpError(`No task with id "${id}".`);
  return task;
}

function targetGroup(ctx: OpContext, target: string | undefined): Group {
  if (target === undefined || target === ctx.group.folder || target === ctx.group.chatId) return ctx.group;
  if (!ctx.group.isMain) throw new OpError('Only the main chat can schedule tasks for another group.');
  const group = registeredGroup(ctx, target);
  assertNotSource(group, 'no agent runs there, so no task can');
  return group;
}

/** A task as the agent and the CLI see it: times in the user's timezone, with its latest run. */
export function summarizeTask(store: Store, task: Task, timeZone: string) {
  const [last] = store.tasks.history(task.id, 1);
  return {
    id: task.id,
    group: store.groupById(task.groupId)?.folder ?? null,
    prompt: task.prompt,
    schedule: describeSchedule({ type: task.scheduleType, value: task.scheduleValue }),
    contextMode: task.contextMode,
    ...(task.deliverTo ? { deliverTo: task.deliverTo } : {}),
    status: task.status,
    nextRun: task.nextRun === null ? null : formatTime(task.nextRun, timeZone),
    lastRun: last
      ? {
          due: formatTime(last.dueAt, timeZone),
          trigger: last.trigger,
          status: last.status,
          durationMs: last.startedAt !== null && last.endedAt !== null ? last.endedAt - last.startedAt : null,
          ...(last.error ? { error: last.error } : {}),
          ...(last.result !== null ? { result: last.result } : {}),
        }
      : null,
  };
}

const summary = (ctx: OpContext, task: Task) => summarizeTask(ctx.store, task, ctx.host.tasks.timeZone);

/** pause/resume/cancel: refuse when `refusal` says why, else apply `patch`. */
function lifecycleOp(refusal: (task: Task, ctx: OpContext) => string | false, patch: (task: Task, now: number, timeZone: string) => TaskPatch) {
  return op({
    mainOnly: false,
    args: taskIdArgs,
    run: (ctx, { task_id }) => {
      const task = visibleTask(ctx, task_id);
      const refused = refusal(task, ctx);
      if (refused) throw new OpError(refused);
      const now = ctx.host.tasks.now();
      const updated = ctx.store.tasks.update(task.id, patch(task, now, ctx.host.tasks.timeZone), now);
      ctx.host.tasks.changed();
      return summary(ctx, updated);
    },
  });
}

export const taskOps: Record<string, Op<unknown>> = {
  schedule_task: op({
    mainOnly: false,
    args: scheduleTaskArgs,
    run: (ctx, args) => {
      const group = targetGroup(ctx, args.target_group);
      assertRoomFor(ctx, group.id, 'scheduling another');
      const s = schedule(args.schedule_type, args.schedule_value, ctx.host.tasks);
      const task = ctx.store.tasks.create(
        {
          id: newTaskId(),
          groupId: group.id,
          createdBy: ctx.group.id,
          prompt: args.prompt,
          scheduleType: s.type,
          scheduleValue: s.value,
          contextMode: args.context_mode,
          deliverTo: args.deliver_to === undefined ? null : deliveryChat(ctx, group, args.deliver_to),
          anchorAt: s.anchorAt,
          nextRun: s.first,
        },
        ctx.host.tasks.now(),
      );
      ctx.host.tasks.changed();
      return summary(ctx, task);
    },
  }),

  list_tasks: op({
    mainOnly: false,
    args: listTasksArgs,
    run: (ctx, args) => {
      const tasks = ctx.store.tasks.list({
        groupId: ctx.group.isMain ? undefined : ctx.group.id,
        includeCancelled: args.include_cancelled,
      });
      return tasks.map((t) => summary(ctx, t));
    },
  }),

  update_task: op({
    mainOnly: false,
    args: updateTaskArgs,
    run: (ctx, args) => {
      const task = visibleTask(ctx, args.task_id);
      if (task.status === 'cancelled') throw new OpError(`Task ${task.id} is cancelled; schedule a new one instead.`);
      if (args.schedule_type !== undefined && args.schedule_value === undefined) {
        throw new OpError('Changing schedule_type needs a schedule_value for it.');
      }
      const patch: TaskPatch = {};
      if (args.prompt !== undefined) patch.prompt = args.prompt;
      if (args.context_mode !== undefined) patch.contextMode = args.context_mode;
      if (args.deliver_to !== undefined) patch.deliverTo = deliveryChat(ctx, ctx.store.groupById(task.groupId)!, args.deliver_to);
      if (args.schedule_value !== undefined) {
        const s = schedule(args.schedule_type ?? task.scheduleType, args.schedule_value, ctx.host.tasks);
        Object.assign(patch, { scheduleType: s.type, scheduleValue: s.value, anchorAt: s.anchorAt });
        // A new schedule revives a finished one-off; a paused task stays paused until resumed.
        if (task.status === 'paused') patch.nextRun = null;
        else Object.assign(patch, { nextRun: s.first, status: 'active' });
        if (task.status === 'completed') assertRoomFor(ctx, task.groupId, `reviving task ${task.id}`);
      }
      if (Object.keys(patch).length === 0) throw new OpError('Nothing to update: give a prompt, schedule, context_mode or deliver_to.');
      const updated = ctx.store.tasks.update(task.id, patch, ctx.host.tasks.now());
      ctx.host.tasks.changed();
      return summary(ctx, updated);
    },
  }),

  pause_task: lifecycleOp(
    (task) => task.status !== 'active' && `Task ${task.id} is ${task.status}, not active.`,
    () => ({ status: 'paused', nextRun: null }),
  ),

  resume_task: lifecycleOp(
    (task, ctx) =>
      task.status !== 'paused' ? `Task ${task.id} is ${task.status}, not paused.` : capRefusal(ctx, task.groupId, `resuming task ${task.id}`),
    (task, now, timeZone) => {
      const s = { type: task.scheduleType, value: task.scheduleValue, anchorAt: task.anchorAt };
      // A one-off whose time passed while paused runs once, now — like any occurrence missed while down.
      const nextRun = task.scheduleType === 'once' ? Math.max(task.anchorAt, now) : nextOccurrence(s, now, timeZone);
      return { status: 'active', nextRun };
    },
  ),

  cancel_task: lifecycleOp(
    (task) => task.status === 'cancelled' && `Task ${task.id} is already cancelled.`,
    () => ({ status: 'cancelled', nextRun: null }),
  ),
};
