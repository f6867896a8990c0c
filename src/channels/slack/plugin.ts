// Slack as the channel registry sees it: on once `carapace channel add slack` saved its tokens. Bolt is imported
// only when Slack is used.
import type { ChannelPlugin } from '../channel.js';
import { slackCredentials } from './credentials.js';
import { slackSetup } from './setup.js';

export const slackPlugin: ChannelPlugin = {
  name: 'slack',
  setup: slackSetup,
  enabled: (config) => slackCredentials(config) !== undefined,
  async create(config, log) {
    const { SlackChannel } = await import('./slack-channel.js');
    const credentials = slackCredentials(config);
    if (!credentials) throw new Error('Slack is not set up: run `carapace channel add slack`');
    return new SlackChannel({
      credentials,
      apiUrl: config.channels.slack.apiUrl,
      maxMediaBytes: config.channels.slack.maxMediaBytes,
      assistantName: config.assistantName,
      log,
    });
  },
};
