// `carapace channel add|remove|pair telegram`: the bot token from @BotFather (a file, TELEGRAM_BOT_TOKEN, or the
// prompt), proved with getMe before it is saved owner-only with the bot's identity.
import { readFileSync } from 'node:fs';
import { Api } from 'grammy';
import type { Config } from '../../config.js';
import { SetupError, type ChannelSetup, type SetupIO } from '../channel.js';
import { readCredentials, removeCredentials, saveCredentials, type SavedCredentials } from '../kit/credentials.js';
import { classify } from './api.js';

export interface TelegramCredentials extends SavedCredentials {
  token: string;
  botId: number;
  username: string;
  name: string;
}

const NAME = 'telegram';

export const telegramCredentials = (config: Config) => readCredentials<TelegramCredentials>(config.dataDir, NAME);

async function readToken(opts: Record<string, unknown>, io: SetupIO): Promise<string> {
  if (typeof opts.tokenFile === 'string') {
    try {
      return readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new SetupError(`Could not read the token file ${opts.tokenFile}: ${(err as Error).message}`);
    }
  }
  return process.env.TELEGRAM_BOT_TOKEN?.trim() || (await io.ask('Bot token from @BotFather: ', { secret: true })).trim();
}

async function add(opts: Record<string, unknown>, io: SetupIO): Promise<string> {
  const token = await readToken(opts, io);
  if (!/^\d+:[\w-]{20,}$/.test(token)) {
    throw new SetupError('That is not a Telegram bot token (it looks like 123456789:AAE…): copy it from @BotFather, /mybots → your bot → API Token.');
  }
  const { apiRoot } = io.config.channels.telegram;
  let me;
  try {
    me = await new Api(token, { apiRoot }).getMe();
  } catch (err) {
    if (classify(err) === 'unauthorized') {
      throw new SetupError('Telegram refused this bot token (401 Unauthorized): it was mistyped or revoked. Copy it again from @BotFather, /mybots → your bot → API Token.');
    }
    throw new SetupError(`Could not check the token with Telegram at ${apiRoot}: ${(err as Error).message}`);
  }
  const account = `@${me.username}`;
  saveCredentials<TelegramCredentials>(io.config.dataDir, NAME, { account, token, botId: me.id, username: me.username, name: me.first_name });
  return `${account} (${me.first_name})`;
}

export const telegramSetup: ChannelSetup = {
  addOptions: [{ flags: '--token-file <path>', description: 'read the bot token from this file (else TELEGRAM_BOT_TOKEN, else a prompt)' }],
  addHelp: [
    'Create a bot with @BotFather in Telegram (/newbot) and copy its API token.',
    'Carapace connects by long polling: no public address is needed, and a webhook set on the bot is removed.',
    'Nobody can talk to the bot until you pair: run `carapace channel pair telegram` and send the code to the bot.',
    'Groups: add the bot, then register the group from the main chat. With privacy mode on (the default,',
    '@BotFather /setprivacy), the bot sees only commands, replies to its messages and messages that mention',
    '@yourbot, so use the mention or a reply as the trigger; turn privacy mode off for it to read everything.',
  ].join('\n'),
  add,
  account: (config) => telegramCredentials(config)?.account,
  remove: (config) => removeCredentials(config.dataDir, NAME),
  pairHint: (config) => `to ${telegramCredentials(config)?.account ?? 'your bot'} in a direct message on Telegram`,
};
