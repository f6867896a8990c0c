import type { StoredMessage } from '../store/store.js';
import { describeSchedule, type ScheduleType } from '../tasks/schedule.js';
import { formatTime, isoInZone } from '../time.js';

/** Escape text for the XML-ish envelope the agent reads; message text can never close or forge a tag. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Everything the agent has not seen yet, one element per message, with sender and local time. */
export function formatMessages(messages: StoredMessage[], timeZone: string): string {
  const lines = messages.map(
    (m) =>
      `<message sender="${escapeXml(m.senderName)}" time="${formatTime(m.timestamp, timeZone)}">${escapeXml(m.text)}</message>`,
  );
  return `<messages>\n${lines.join('\n')}\n</messages>`;
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
  task: { id: string; prompt: string; scheduleType: ScheduleType; scheduleValue: string },
  occurrence: { dueAt: number; trigger: 'schedule' | 'manual' },
  timeZone: string,
): string {
  const schedule = escapeXml(describeSchedule({ type: task.scheduleType, value: task.scheduleValue }));
  const how = occurrence.trigger === 'manual' ? 'run by hand' : 'due';
  return [
    `<scheduled_task id="${task.id}" schedule="${schedule}" ${how}="${isoInZone(occurrence.dueAt, timeZone)}">`,
    'This is a scheduled run of a task, not a message from the user. Do what it asks. Your reply goes to the chat;',
    'if there is nothing worth telling, reply with nothing or only <internal>…</internal> and the chat stays quiet.',
    `<prompt>${escapeXml(task.prompt)}</prompt>`,
    '</scheduled_task>',
  ].join('\n');
}
