// Chat ids: "dc:<channel id>". On Discord a DM, a guild text channel and a thread are all channels.
export const PREFIX = 'dc:';
export const chatIdOf = (channelId: string) => `${PREFIX}${channelId}`;
export const channelIdOf = (chatId: string) => chatId.slice(PREFIX.length);
