// Slack chat ids: "slack:<channel id>" for a channel, group DM or DM, and "slack:<channel id>:<thread ts>" for a
// thread in one, which Carapace runs as a conversation of its own.
export const CHAT_PREFIX = 'slack:';

export function chatIdOf(channel: string, threadTs?: string): string {
  return threadTs ? `${CHAT_PREFIX}${channel}:${threadTs}` : `${CHAT_PREFIX}${channel}`;
}

/** The Slack channel and, for a thread, its parent message's ts. Throws on an id that is not Slack's. */
export function slackTarget(chatId: string): { channel: string; threadTs?: string } {
  if (!chatId.startsWith(CHAT_PREFIX)) throw new Error(`not a Slack chat id: ${chatId}`);
  const [channel, threadTs] = chatId.slice(CHAT_PREFIX.length).split(':', 2);
  if (!channel) throw new Error(`not a Slack chat id: ${chatId}`);
  return { channel, threadTs: threadTs || undefined };
}
