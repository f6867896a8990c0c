import { listTasksShape, scheduleTaskShape, taskIdShape, updateTaskShape } from '../../ipc/task-args.js';
import { tool } from '@anthropic-ai/claude-agent-sdk';
import type { ZodRawShape } from 'zod';
import { ask, type ToolContext } from './context.js';

/** A tool that forwards its arguments to the host operation of the same name. */
const hostTool = <Shape extends ZodRawShape>(ctx: ToolContext, name: string, description: string, shape: Shape) =>
  tool(name, description, shape, (args) => ask(ctx, name, args));

/** Scheduled tasks: each run is a full agent run in this chat (or a fresh session), at the time given. */
export const taskTools = (ctx: ToolContext) => [
  hostTool(
    ctx,
    'schedule_task',
    `Schedule work for later: recurring (cron or interval) or once. When it is due you run again with the prompt, ` +
      `marked as a scheduled run; your reply (or send_message) goes to the chat, and a reply that is empty or only ` +
      `<internal>…</internal> stays silent. Times are in the user's timezone, ${ctx.start.timeZone}.`,
    scheduleTaskShape,
  ),
  hostTool(ctx, 'list_tasks', 'List scheduled tasks with their schedule, next run and last result.', listTasksShape),
  hostTool(
    ctx,
    'update_task',
    'Change a task\'s prompt, schedule or context mode. A new schedule starts counting from now.',
    updateTaskShape,
  ),
  hostTool(ctx, 'pause_task', 'Pause a task: it does not run until resumed.', taskIdShape),
  hostTool(ctx, 'resume_task', 'Resume a paused task; a one-off whose time passed while paused runs once, now.', taskIdShape),
  hostTool(ctx, 'cancel_task', 'Cancel a task for good (a run already in progress finishes).', taskIdShape),
];
