// `carapace channel add|remove|pair discord`: what to switch on in Discord's developer portal, the invite link
// with the few permissions Carapace needs, and a bot token proved against the REST API before it is saved.
import { readFileSync } from 'node:fs';
import type { Config } from '../../config.js';
import { readCredentials, removeCredentials, saveCredentials, type SavedCredentials } from '../kit/credentials.js';
import { SetupError, type ChannelSetup, type SetupIO } from '../channel.js';

export const DISCORD = 'discord';
export const TOKEN_ENV = 'DISCORD_BOT_TOKEN';

export interface DiscordCredentials extends SavedCredentials {
  token: string;
  botId: string;
  applicationId: string;
}

/** View Channels, Send Messages, Send Messages in Threads, Attach Files, Read Message History: nothing else. */
const PERMISSIONS = (1n << 10n) | (1n << 11n) | (1n << 38n) | (1n << 15n) | (1n << 16n);
/** Application flags saying the Message Content intent is on (verified apps, unverified apps). */
const MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19);
export const PORTAL = 'https://discord.com/developers/applications';

export const inviteUrl = (applicationId: string) =>
  `https://discord.com/oauth2/authorize?client_id=${applicationId}&scope=bot&permissions=${PERMISSIONS}`;

export const readDiscordCredentials = (config: Config) => readCredentials<DiscordCredentials>(config.dataDir, DISCORD);

const addHelp = `
Create a bot at ${PORTAL} (New Application → Bot), then:
  • Bot → Reset Token: copy the token (give it with --token-file, ${TOKEN_ENV}, or paste it when asked).
  • Bot → Privileged Gateway Intents: turn on "Message Content Intent". Without it Discord sends messages
    without their text, and refuses the connection (close code 4014).
Carapace asks the gateway for: Guilds (the servers and channels it is in, to list them for registering),
Guild Messages and Direct Messages (the messages themselves), Message Content (their text). It asks for no
member lists and no presence, so the other privileged intents stay off.
Once the token is saved, Carapace prints an invite link with only the permissions it uses: view channels,
read message history, send messages (also in threads) and attach files.`;

async function readToken(opts: Record<string, unknown>, io: SetupIO): Promise<string> {
  const file = opts.tokenFile;
  if (typeof file === 'string') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new SetupError(`Could not read the token file ${file}: ${(err as Error).message}`);
    }
  }
  return (process.env[TOKEN_ENV]?.trim() || (await io.ask('Discord bot token', { secret: true }))).trim();
}

interface Me {
  id: string;
  username: string;
  discriminator?: string;
}

/** Proves the token: the bot user, and the application's intent flags (a missing Message Content intent is told). */
async function proveToken(token: string, config: Config): Promise<{ me: Me; applicationId: string; contentIntent: boolean }> {
  const { DiscordAPIError, REST } = await import('discord.js'); // loaded only when setting up
  const rest = new REST({ api: config.channels.discord.apiUrl, retries: 1, timeout: 15_000 }).setToken(token);
  let me: Me;
  try {
    me = (await rest.get('/users/@me')) as Me;
  } catch (err) {
    if (err instanceof DiscordAPIError && err.status === 401) {
      throw new SetupError(`Discord refused the bot token (401). Copy a fresh one from ${PORTAL} → your app → Bot → Reset Token, and run this again.`);
    }
    throw new SetupError(`Could not reach Discord at ${config.channels.discord.apiUrl} to check the token: ${(err as Error).message}`);
  }
  const app = (await rest.get('/applications/@me').catch(() => undefined)) as { id: string; flags?: number } | undefined;
  const contentIntent = app?.flags === undefined || (app.flags & MESSAGE_CONTENT_FLAGS) !== 0;
  return { me, applicationId: app?.id ?? me.id, contentIntent };
}

export const discordSetup: ChannelSetup = {
  addOptions: [{ flags: '--token-file <path>', description: `read the bot token from this file (else ${TOKEN_ENV}, else asked)` }],
  addHelp,
  async add(opts, io) {
    const token = await readToken(opts, io);
    if (!token) throw new SetupError(`No bot token given: paste it, or pass --token-file or ${TOKEN_ENV}.`);
    const { me, applicationId, contentIntent } = await proveToken(token, io.config);
    const account = `@${me.username}`;
    saveCredentials<DiscordCredentials>(io.config.dataDir, DISCORD, { account, token, botId: me.id, applicationId });
    io.out.write(`Invite the bot to a server with:\n  ${inviteUrl(applicationId)}\n`);
    if (!contentIntent) {
      io.out.write(`The Message Content intent is off: turn it on at ${PORTAL}/${applicationId}/bot (Privileged Gateway Intents), or Discord refuses the connection.\n`);
    }
    return `${account} (${me.id})`;
  },
  account: (config) => readDiscordCredentials(config)?.account,
  remove: (config) => removeCredentials(config.dataDir, DISCORD),
  // Read after the CLI's "send the code to ".
  pairHint: (config) => `${readDiscordCredentials(config)?.account ?? 'the bot'} in a direct message on Discord`,
};
