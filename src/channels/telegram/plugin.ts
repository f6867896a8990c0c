// Telegram as the channel registry sees it: on once a bot token is saved (`carapace channel add telegram`).
// grammY is loaded only when the channel is used.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { ChannelPlugin } from '../channel.js';
import { telegramCredentials, telegramSetup, type TelegramCredentials } from './setup.js';
import type { TelegramChannelOptions } from './telegram-channel.js';

export function telegramOptions(config: Config, saved: TelegramCredentials, log: Logger): TelegramChannelOptions {
  const { apiRoot, maxMediaBytes } = config.channels.telegram;
  return { token: saved.token, bot: { id: saved.botId, username: saved.username }, apiRoot, maxMediaBytes, log, webhook: saved.webhook };
}

export const telegramPlugin: ChannelPlugin = {
  name: 'telegram',
  enabled: (config) => telegramCredentials(config) !== undefined,
  async create(config, log) {
    const saved = telegramCredentials(config);
    if (!saved) throw new Error('Telegram is not set up: run `carapace channel add telegram`');
    const { TelegramChannel } = await import('./telegram-channel.js');
    return new TelegramChannel(telegramOptions(config, saved, log));
  },
  setup: telegramSetup,
};
