import type { StoredMessage } from '../store/store.js';

/** Escape text for the XML-ish envelope the agent reads; message text can never close or forge a tag. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Local wall-clock time with its UTC offset, e.g. "2026-11-24 15:04 +01:00", so the agent reasons in local time. */
export function formatTime(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : String(parts.timeZoneName).replace('GMT', '');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${offset}`;
}

export interface PromptBudget {
  maxMessages: number;
  maxChars: number;
}

/**
 * Everything the agent has not seen yet, one element per message, with sender and local time. A long backlog
 * (a busy group while the agent slept) is cut to the budget: the newest messages stay, a marker says how many
 * older ones were left out, and a single huge message is shortened.
 */
export function formatMessages(messages: StoredMessage[], timeZone: string, budget?: PromptBudget): string {
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
    const omitted = lines.length - kept.length;
    if (omitted > 0) kept.unshift(`<omitted count="${omitted}">${omitted} earlier message${omitted === 1 ? ' was' : 's were'} left out to keep this short.</omitted>`);
  }
  return `<messages>\n${kept.join('\n')}\n</messages>`;
}

/** Agents may keep reasoning in <internal>…</internal>; it never reaches the chat. */
export function stripInternal(text: string): string {
  return text.replace(/<internal>[\s\S]*?<\/internal>/g, '').trim();
}
