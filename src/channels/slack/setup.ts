// `carapace channel add|remove|pair slack`: print the app manifest, take the two tokens (a file, the environment or
// the terminal), prove them against Slack (auth.test for the bot token, apps.connections.open for the app-level
// token, and that both belong to the same app), and save them owner-only.
import { readFileSync } from 'node:fs';
import type { Config } from '../../config.js';
import { SetupError, type ChannelSetup, type SetupIO } from '../channel.js';
import { removeCredentials, saveCredentials } from '../kit/credentials.js';
import { slackCredentials, type SlackCredentials } from './credentials.js';
import { manifestText } from './manifest.js';

interface TokenKind {
  label: string;
  prefix: string;
  option: string;
  env: string;
  where: string;
}

const APP: TokenKind = {
  label: 'app-level token',
  prefix: 'xapp-',
  option: 'appTokenFile',
  env: 'SLACK_APP_TOKEN',
  where: 'Basic Information → App-Level Tokens (scope connections:write)',
};
const BOT: TokenKind = {
  label: 'bot token',
  prefix: 'xoxb-',
  option: 'botTokenFile',
  env: 'SLACK_BOT_TOKEN',
  where: 'OAuth & Permissions → Bot User OAuth Token (install the app first)',
};

async function readToken(kind: TokenKind, opts: Record<string, unknown>, io: SetupIO): Promise<string> {
  const file = opts[kind.option];
  let token: string;
  if (typeof file === 'string') {
    try {
      token = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SetupError(`Cannot read the ${kind.label} from ${file}: ${(err as Error).message}`);
    }
  } else token = process.env[kind.env] ?? (await io.ask(`Slack ${kind.label} (${kind.prefix}…): `, { secret: true }));
  token = token.trim();
  if (token.startsWith(kind.prefix)) return token;
  const other = kind === APP ? BOT : APP;
  const hint = token.startsWith(other.prefix) ? `that is the ${other.label}` : `it does not start with ${kind.prefix}`;
  throw new SetupError(`The Slack ${kind.label} is wrong: ${hint}. Copy it from ${kind.where}.`);
}

function refused(kind: TokenKind, err: unknown, platformError: (err: unknown) => string | undefined): SetupError {
  const code = platformError(err);
  if (!code) return new SetupError(`Could not reach Slack to check the ${kind.label}: ${(err as Error).message}`);
  return new SetupError(`Slack refused the ${kind.label} (${code}). Copy it again from ${kind.where}.`);
}

/** Prove both tokens; resolves to what is saved. */
async function check(config: Config, appToken: string, botToken: string): Promise<SlackCredentials> {
  const { apiUrl } = config.channels.slack;
  const { platformError, webClient } = await import('./web.js'); // the Slack library only when it is used
  const bot = webClient(apiUrl, botToken, { retries: 0 });
  const me = await bot.auth.test().catch((err: unknown) => Promise.reject(refused(BOT, err, platformError)));
  const socket = await webClient(apiUrl, appToken, { retries: 0 })
    .apps.connections.open()
    .catch((err: unknown) => Promise.reject(refused(APP, err, platformError)));
  // Slack's socket URL names the app; the bot's app is in bots.info. Both known and different: a mix-up.
  const socketApp = socket.url ? new URL(socket.url).searchParams.get('app_id') : null;
  const botApp = me.bot_id ? (await bot.bots.info({ bot: me.bot_id }).catch(() => undefined))?.bot?.app_id : undefined;
  if (socketApp && botApp && socketApp !== botApp) {
    throw new SetupError(
      `The Slack tokens belong to different apps: the app-level token to ${socketApp}, the bot token to ${botApp}. Take both from the same app's settings.`,
    );
  }
  return {
    account: `@${me.user} in ${me.team}`,
    appToken,
    botToken,
    botUserId: me.user_id ?? '',
    botId: me.bot_id,
    team: me.team ?? '',
    teamId: me.team_id,
  };
}

export const slackSetup: ChannelSetup = {
  addOptions: [
    { flags: '--app-token-file <path>', description: 'read the app-level token (xapp-…) from this file' },
    { flags: '--bot-token-file <path>', description: 'read the bot token (xoxb-…) from this file' },
  ],
  addHelp:
    'Prints the Slack app manifest to create the app from, then asks for its two tokens (or reads them from the files ' +
    'above, or SLACK_APP_TOKEN and SLACK_BOT_TOKEN). Socket Mode: no public URL is needed.',
  async add(opts, io) {
    io.out.write(manifestText(io.config.assistantName));
    const appToken = await readToken(APP, opts, io);
    const botToken = await readToken(BOT, opts, io);
    const saved = await check(io.config, appToken, botToken);
    saveCredentials(io.config.dataDir, 'slack', saved);
    return saved.account;
  },
  account: (config) => slackCredentials(config)?.account,
  remove: (config) => removeCredentials(config.dataDir, 'slack'),
  pairHint: (config) => `${slackCredentials(config)?.account ?? 'the Slack bot'} in a direct message (Apps → ${config.assistantName} → Messages)`,
};
