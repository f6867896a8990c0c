// Settings of the bot channels (Telegram, Slack, Discord). Their credentials are not settings: `carapace channel
// add <name>` proves and saves them under the data directory. What is here: where each platform's API is (tests
// and self-hosted gateways point it elsewhere) and how much media a chat may send.
import { ConfigError, int, type Env } from './env.js';
import type { BotChannelsConfig } from './types.js';

/** An http(s) URL setting, or the default when unset. */
function url(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}".`);
  }
  if (!/^(https?|wss?):$/.test(parsed.protocol)) throw new ConfigError(`${name} must be an http(s) URL, got "${raw}".`);
  return raw.replace(/\/+$/, '');
}

export function botChannelsConfig(env: Env): BotChannelsConfig {
  const maxMediaBytes = int(env, 'CARAPACE_CHANNEL_MEDIA_MAX_MB', 20, 1) * 1024 * 1024;
  return {
    telegram: { apiRoot: url(env, 'TELEGRAM_API_ROOT', 'https://api.telegram.org'), maxMediaBytes },
    slack: { apiUrl: url(env, 'SLACK_API_URL', 'https://slack.com/api'), maxMediaBytes },
    discord: { apiUrl: url(env, 'DISCORD_API_URL', 'https://discord.com/api'), maxMediaBytes },
  };
}
