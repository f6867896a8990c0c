// `carapace channel add|remove|pair telegram`: the bot token from @BotFather (a file, TELEGRAM_BOT_TOKEN, or the
// prompt), proved with getMe before it is saved owner-only with the bot's identity.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../../config.js';
import { SetupError, type ChannelSetup, type SetupIO } from '../channel.js';
import { readCredentials, removeCredentials, saveCredentials, type SavedCredentials } from '../kit/credentials.js';
import type { WebhookSettings } from './webhook.js';

export interface TelegramCredentials extends SavedCredentials {
  token: string;
  botId: number;
  username: string;
  name: string;
  /** Set: Telegram posts updates to this address instead of being polled. */
  webhook?: WebhookSettings;
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

/** `--webhook <url>` (HTTPS; plain HTTP only to this machine) and `--webhook-port <port>`, or undefined. */
function webhookOf(opts: Record<string, unknown>): WebhookSettings | undefined {
  if (typeof opts.webhook !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(opts.webhook);
  } catch {
    throw new SetupError(`--webhook needs a URL, got "${opts.webhook}".`);
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) throw new SetupError('--webhook needs an https:// address: Telegram posts only to HTTPS.');
  const port = Number(opts.webhookPort ?? 8443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SetupError(`--webhook-port must be a port number, got "${opts.webhookPort}".`);
  return { url: url.href, port, secret: randomBytes(32).toString('hex') };
}

async function add(opts: Record<string, unknown>, io: SetupIO): Promise<string> {
  const webhook = webhookOf(opts);
  const token = await readToken(opts, io);
  if (!/^\d+:[\w-]{20,}$/.test(token)) {
    throw new SetupError('That is not a Telegram bot token (it looks like 123456789:AAE…): copy it from @BotFather, /mybots → your bot → API Token.');
  }
  const { apiRoot } = io.config.channels.telegram;
  const { Api } = await import('grammy'); // loaded only when Telegram is used
  const { classify } = await import('./api.js');
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
  saveCredentials<TelegramCredentials>(io.config.dataDir, NAME, { account, token, botId: me.id, username: me.username, name: me.first_name, webhook });
  return `${account} (${me.first_name})${webhook ? `, webhook at ${webhook.url} (forward it to 127.0.0.1:${webhook.port})` : ', long polling'}`;
}

export const telegramSetup: ChannelSetup = {
  addOptions: [
    { flags: '--token-file <path>', description: 'read the bot token from this file (else TELEGRAM_BOT_TOKEN, else a prompt)' },
    { flags: '--webhook <url>', description: 'receive by webhook at this public HTTPS address instead of long polling' },
    { flags: '--webhook-port <port>', description: 'the local port (127.0.0.1) the webhook address is forwarded to (default 8443)' },
  ],
  addHelp: [
    'Create a bot with @BotFather in Telegram (/newbot) and copy its API token.',
    'Carapace connects by long polling: no public address is needed, and a webhook set on the bot is removed.',
    'With --webhook, Telegram posts to that HTTPS address instead; forward it (reverse proxy, tunnel) to the local port.',
    'Nobody can talk to the bot until you pair: run `carapace channel pair telegram` and send the code to the bot.',
    'Groups: add the bot, then register the group from the main chat. With privacy mode on (the default,',
    '@BotFather /setprivacy), the bot sees only commands, replies to its messages and messages that mention',
    '@yourbot, so use the mention or a reply as the trigger; turn privacy mode off for it to read everything.',
  ].join('\n'),
  add,
  account: (config) => telegramCredentials(config)?.account,
  remove: (config) => removeCredentials(config.dataDir, NAME),
  pairHint: (config) => `${telegramCredentials(config)?.account ?? 'your bot'} in a direct message on Telegram`,
};
