// How an egress approval reads in the chat: the card (who asks, for what, why, how to answer) and the short
// replies that answer it on channels without buttons ("allow 3", "allow 3 chat", "deny 3").
import type { Card } from '../channels/channel.js';
import type { ApprovalRequest, ApprovalStatus, Group } from '../store/store.js';

export type Choice = 'once' | 'chat' | 'deny';
export const CHOICES: readonly Choice[] = ['once', 'chat', 'deny'];

const seconds = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

/** The card for request `id`: complete as text, so a channel without buttons sends it as is. */
export function approvalCard(id: number, group: Group, req: ApprovalRequest, waitMs: number): Card {
  const what = req.method === 'CONNECT' ? `${req.host} port ${req.port} (HTTPS)` : `${req.method} http://${req.host}${req.port === 80 ? '' : `:${req.port}`}${req.path ?? '/'}`;
  const lines = [
    `🌐 Web access request ${id}`,
    `The agent of "${group.name}" (${group.chatId}) wants to reach ${what}, which is not on its allowed list.`,
    req.reason ? `Its reason: "${req.reason}"` : 'It gave no reason.',
    `Reply "allow ${id}" (this once), "allow ${id} chat" (add ${req.host} to the chat's list) or "deny ${id}". ` +
      `It waits ${seconds(waitMs)}, then it is refused.`,
  ];
  return {
    id: String(id),
    text: lines.join('\n'),
    choices: [
      { id: 'once', label: 'Allow once' },
      { id: 'chat', label: 'Allow for this chat' },
      { id: 'deny', label: 'Deny' },
    ],
  };
}

/** A short reply that answers a card, or undefined when the text is something else. */
export function parseReply(text: string): { id: number; choice: Choice } | undefined {
  const m = /^\s*(allow|deny)\s+#?(\d{1,12})(?:\s+(once|chat))?\s*[.!]?\s*$/i.exec(text);
  if (!m) return undefined;
  const verb = m[1].toLowerCase();
  if (verb === 'deny' && m[3]) return undefined;
  return { id: Number(m[2]), choice: verb === 'deny' ? 'deny' : ((m[3]?.toLowerCase() as Choice | undefined) ?? 'once') };
}

/** What a decided request came to, in words for the owner. */
export function statusWords(status: ApprovalStatus): string {
  return { pending: 'still waiting', once: 'allowed once', chat: 'allowed for its chat', deny: 'denied', expired: 'refused without an answer' }[status];
}

/** The list entry "allow for this chat" adds: the host, with its port unless it is a default one. */
export const listEntry = (host: string, port: number) => {
  const name = host.includes(':') ? `[${host}]` : host;
  return port === 80 || port === 443 ? name : `${name}:${port}`;
};
