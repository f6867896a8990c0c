// Arguments of the task tools, part of the protocol between runner and host: the runner offers them to the
// model with these schemas, and the host checks every request against the same schemas (a request is untrusted
// input whatever the runner did).
import { z } from 'zod';

export const MAX_PROMPT_CHARS = 10_000;

const taskId = z.string().min(1).max(64).describe('The task id, as shown by list_tasks or schedule_task');
const scheduleType = z
  .enum(['cron', 'interval', 'once'])
  .describe('cron: a 5-field cron expression; interval: a fixed period; once: a single time');
const scheduleValue = z
  .string()
  .min(1)
  .max(200)
  .describe(
    'For cron: "minute hour day-of-month month day-of-week" in the user\'s timezone, e.g. "0 9 * * 1-5". ' +
      'For interval: a duration like "30m", "2h", "1d". For once: local time like "2026-11-25 17:00" (user\'s ' +
      'timezone) or ISO 8601 with an offset like "2026-11-25T17:00:00+01:00".',
  );
const contextMode = z
  .enum(['group', 'isolated'])
  .describe(
    'group: the task runs in this chat\'s conversation and remembers it; isolated: a fresh conversation with ' +
      'no history (put everything it needs in the prompt).',
  );
const prompt = z
  .string()
  .min(1)
  .max(MAX_PROMPT_CHARS)
  .describe('What to do when the task runs, as an instruction to yourself (it arrives as a scheduled run, not a user message)');
const deliverTo = z
  .string()
  .min(1)
  .max(200)
  .describe(
    'The registered chat (chat id or folder, see list_groups) its replies go to; default the chat it runs in. ' +
      'Only the main chat may name another chat; naming the chat it runs in resets it',
  );

export const scheduleTaskShape = {
  prompt,
  schedule_type: scheduleType,
  schedule_value: scheduleValue,
  context_mode: contextMode.default('group'),
  target_group: z
    .string()
    .min(1)
    .optional()
    .describe('Main chat only: the folder or chat id (see list_groups) of the group the task runs in; default this chat'),
  deliver_to: deliverTo.optional(),
};
export const updateTaskShape = {
  task_id: taskId,
  prompt: prompt.optional(),
  schedule_type: scheduleType.optional(),
  schedule_value: scheduleValue.optional(),
  context_mode: contextMode.optional(),
  deliver_to: deliverTo.optional(),
};
export const taskIdShape = { task_id: taskId };
export const listTasksShape = {
  include_cancelled: z.boolean().optional().describe('Also list cancelled tasks'),
};

export const scheduleTaskArgs = z.strictObject(scheduleTaskShape);
export const updateTaskArgs = z.strictObject(updateTaskShape);
export const taskIdArgs = z.strictObject(taskIdShape);
export const listTasksArgs = z.strictObject(listTasksShape);
