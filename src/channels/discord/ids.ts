// Chat ids: "dc:<channel id>". On Discord a DM, a guild text channel and a thread are all channels.
import type { ChatInfo } from '../channel.js';
export const PREFIX = 'dc:';
export const chatIdOf = (channelId: string) => `${PREFIX}${channelId}`;
export const channelIdOf = (chatId: string) => chatId.slice(PREFIX.length);

/** A server channel as the main chat lists it: "Home #general". */
export const serverChannel = (serverName: string | undefined, channel: { id: string; name: string }): ChatInfo => ({
  chatId: chatIdOf(channel.id),
  name: `${serverName ?? 'server'} #${channel.name}`,
  isGroup: true,
});
