// Discord as the channel registry sees it: on once a bot token is saved (`carapace channel add discord`).
// Kept free of discord.js, which is loaded only when Discord is used.
import type { ChannelPlugin } from '../channel.js';
import { DISCORD, discordSetup, readDiscordCredentials } from './setup.js';

export const discordPlugin: ChannelPlugin = {
  name: DISCORD,
  enabled: (config) => readDiscordCredentials(config) !== undefined,
  async create(config, log) {
    const credentials = readDiscordCredentials(config);
    if (!credentials) throw new Error('Discord is not set up: run `carapace channel add discord`.');
    const { DiscordChannel } = await import('./discord-channel.js');
    return new DiscordChannel({
      token: credentials.token,
      account: credentials.account,
      applicationId: credentials.applicationId,
      apiUrl: config.channels.discord.apiUrl,
      maxMediaBytes: config.channels.discord.maxMediaBytes,
      assistantName: config.assistantName,
      log,
    });
  },
  setup: discordSetup,
};
