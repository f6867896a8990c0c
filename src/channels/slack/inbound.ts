// What a Slack message event says, made plain: an edit becomes its new text, marked; deletions, joins, bot posts
// and our own echoes are nothing to hand on. Mentions of the bot make the message addressed and read as the
// assistant's trigger ("@Andy"), so the agent and the trigger check see the same words people meant.
import type { SlackFile } from './media.js';
import { fromMrkdwn, mentionedUsers } from './format.js';

export interface SlackMessageEvent {
  type: 'message';
  subtype?: string;
  channel: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  files?: SlackFile[];
  message?: { user?: string; bot_id?: string; text?: string; ts: string; thread_ts?: string; edited?: { ts: string }; files?: SlackFile[] };
}

export interface PlainMessage {
  channel: string;
  isDm: boolean;
  user: string;
  /** Slack's text, still in its markup. */
  raw: string;
  ts: string;
  /** Set for a reply inside a thread (not for the thread's first message). */
  threadTs?: string;
  files: SlackFile[];
  /** Unique per message, and per edit of it. */
  platformId: string;
  edited: boolean;
}

/** Subtypes that are someone writing: a plain message, one with files, a thread reply also sent to the channel. */
const WRITTEN = new Set([undefined, 'file_share', 'thread_broadcast']);

/**
 * Edits are handed on as a new message "(edited) …" (the agent may have answered the old words; it sees both);
 * deletions are ignored (what the agent read stays read, and nothing new was said).
 */
export function plainMessage(event: SlackMessageEvent, botUserId: string): PlainMessage | undefined {
  const edit = event.subtype === 'message_changed' ? event.message : undefined;
  if (!edit && !WRITTEN.has(event.subtype)) return undefined;
  if (edit && !edit.edited) return undefined; // an unfurl or other change nobody typed
  const m = edit ?? event;
  if (!m.user || m.bot_id || m.user === botUserId) return undefined;
  const threadTs = m.thread_ts && m.thread_ts !== m.ts ? m.thread_ts : undefined;
  return {
    channel: event.channel,
    isDm: event.channel_type === 'im' || event.channel.startsWith('D'),
    user: m.user,
    raw: m.text ?? '',
    ts: m.ts,
    threadTs,
    files: edit ? [] : (event.files ?? []),
    platformId: edit ? `${m.ts}/edit/${edit.edited!.ts}` : m.ts,
    edited: Boolean(edit),
  };
}

/** The text as the agent reads it, and whether it mentions the bot. */
export function readableText(msg: PlainMessage, botUserId: string, assistantName: string, names: Map<string, string>): { text: string; addressed: boolean } {
  const addressed = mentionedUsers(msg.raw).includes(botUserId);
  const text = fromMrkdwn(msg.raw, (id) => (id === botUserId ? assistantName : (names.get(id) ?? id)));
  return { text: msg.edited ? `(edited) ${text}` : text, addressed };
}

/** Slack's ts ("1700000000.000100") → milliseconds. */
export const tsMillis = (ts: string) => Math.round(Number(ts) * 1000) || Date.now();
