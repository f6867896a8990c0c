// Slack as the channel registry sees it: on once `carapace channel add slack` saved its tokens. Bolt is imported
// only when Slack is used.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { ChannelPlugin } from '../channel.js';
import { slackCredentials, type SlackCredentials } from './credentials.js';
import { slackSetup } from './setup.js';
import type { SlackChannelOptions } from './slack-channel.js';

/** The Slack channel's settings for this install. */
export function slackOptions(config: Config, log: Logger, credentials: SlackCredentials): SlackChannelOptions {
  const { apiUrl, maxMediaBytes } = config.channels.slack;
  return { credentials, apiUrl, maxMediaBytes, assistantName: config.assistantName, log };
}

export const slackPlugin: ChannelPlugin = {
  name: 'slack',
  setup: slackSetup,
  enabled: (config) => slackCredentials(config) !== undefined,
  async create(config, log) {
    const { SlackChannel } = await import('./slack-channel.js');
    const credentials = slackCredentials(config);
    if (!credentials) throw new Error('Slack is not set up: run `carapace channel add slack`');
    return new SlackChannel(slackOptions(config, log, credentials));
  },
};
