import type { StoredMessage } from '../store/store.js';
import { describeSchedule, type ScheduleType } from '../tasks/schedule.js';
import { formatTime, isoInZone } from '../time.js';

/** Escape text for the XML-ish envelope the agent reads; message text can never close or forge a tag. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface PromptBudget {
  maxMessages: number;
  maxChars: number;
}

/**
 * Everything the agent has not seen yet, one element per message, with sender and local time. A long backlog
 * (a busy group while the agent slept) is cut to the budget: the newest messages stay, a marker says how many
 * older ones were left out, and a single huge message is shortened. `earlier` counts older messages the caller
 * already left out (it read only a backlog's tail).
 */
export function formatMessages(messages: StoredMessage[], timeZone: string, budget?: PromptBudget, earlier = 0): string {
  const lines = messages.map(
    (m) =>
      `<message sender="${escapeXml(m.senderName)}" time="${formatTime(m.timestamp, timeZone)}">${escapeXml(m.text)}</message>`,
  );
  let kept = lines;
  if (budget) {
    kept = [];
    let chars = 0;
    for (let i = lines.length - 1; i >= 0 && kept.length < budget.maxMessages; i--) {
      let line = lines[i];
      if (kept.length === 0 && line.length > budget.maxChars) line = `${line.slice(0, budget.maxChars)}… [message truncated]</message>`;
      if (chars + line.length > budget.maxChars && kept.length > 0) break;
      chars += line.length;
      kept.unshift(line);
    }
    const omitted = lines.length - kept.length + earlier;
    if (omitted > 0) kept.unshift(`<omitted count="${omitted}">${omitted} earlier message${omitted === 1 ? ' was' : 's were'} left out to keep this short.</omitted>`);
  }
  return `<messages>\n${kept.join('\n')}\n</messages>`;
}

/** Agents may keep reasoning in <internal>…</internal>; it never reaches the chat. */
export function stripInternal(text: string): string {
  return text.replace(/<internal>[\s\S]*?<\/internal>/g, '').trim();
}

/**
 * The prompt of a scheduled run: marked as such (it is not the user speaking), with its schedule and due time in
 * local time (to the second: it also tells occurrences apart). The task's own prompt is escaped like a message: whoever wrote it cannot forge the envelope.
 */
export function formatTaskPrompt(
  task: { id: string; prompt: string; scheduleType: ScheduleType; scheduleValue: string; deliverTo?: string | null },
  occurrence: { dueAt: number; trigger: 'schedule' | 'manual' },
  timeZone: string,
): string {
  const schedule = escapeXml(describeSchedule({ type: task.scheduleType, value: task.scheduleValue }));
  const how = occurrence.trigger === 'manual' ? 'run by hand' : 'due';
  return [
    `<scheduled_task id="${task.id}" schedule="${schedule}" ${how}="${isoInZone(occurrence.dueAt, timeZone)}">`,
    'This is a scheduled run of a task, not a message from the user. Do what it asks. ' +
      `Your reply goes to ${task.deliverTo ? `another chat (${escapeXml(task.deliverTo)}), not this one` : 'the chat'};`,
    'if there is nothing worth telling, reply with nothing or only <internal>…</internal> and the chat stays quiet.',
    `<prompt>${escapeXml(task.prompt)}</prompt>`,
    '</scheduled_task>',
  ].join('\n');
}
