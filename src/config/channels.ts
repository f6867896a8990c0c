// Settings of the bot channels (Telegram, Slack, Discord). Their credentials are not settings: `carapace channel
// add <name>` proves and saves them under the data directory. What is here: where each platform's API is (tests
// and self-hosted gateways point it elsewhere) and how much media a chat may send.
import { int, url as plainUrl, type Env } from './env.js';
import type { BotChannelsConfig } from './types.js';

export function botChannelsConfig(env: Env): BotChannelsConfig {
  const url = (name: string, fallback: string) => plainUrl(env, name, fallback, { ws: true });
  const maxMediaBytes = int(env, 'CARAPACE_CHANNEL_MEDIA_MAX_MB', 20, 1) * 1024 * 1024;
  return {
    telegram: { apiRoot: url('TELEGRAM_API_ROOT', 'https://api.telegram.org'), maxMediaBytes },
    slack: { apiUrl: url('SLACK_API_URL', 'https://slack.com/api'), maxMediaBytes },
    discord: { apiUrl: url('DISCORD_API_URL', 'https://discord.com/api'), maxMediaBytes },
  };
}
