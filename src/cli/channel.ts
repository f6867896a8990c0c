// `carapace channel add|remove|pair|list`: the bot channels (Telegram, Slack, Discord) set up from the command
// line. Each channel's plug-in says what it needs (`ChannelPlugin.setup`); here are the parts they share: saving,
// pairing codes, and what the running assistant reports about each connection.
import type { Command } from 'commander';
import type { ChannelHealth, ChannelPlugin, ChannelSetup } from '../channels/channel.js';
import { SetupError } from '../channels/channel.js';
import { CHANNEL_PLUGINS } from '../channels/registry.js';
import type { Config } from '../config.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../core/bot-owners.js';
import { writeJson, type CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { localApi } from './local-api.js';
import { setupIO } from './setup-io.js';
import { ifStore, onStore } from './with-store.js';

type BotPlugin = ChannelPlugin & { setup: ChannelSetup };
export const botPlugins = (): BotPlugin[] => CHANNEL_PLUGINS.filter((p): p is BotPlugin => p.setup !== undefined);

function botPlugin(name: string): BotPlugin {
  const plugin = botPlugins().find((p) => p.name === name);
  if (!plugin) throw new CliError(`No bot channel named "${name}". Known: ${botPlugins().map((p) => p.name).join(', ') || 'none'}.`, EXIT.usage);
  return plugin;
}

export interface ChannelSummary {
  name: string;
  /** The saved bot account, or null when the channel is not set up. */
  account: string | null;
  /** The paired owner's name and DM chat, or null. */
  owner: { name: string; chatId: string } | null;
  /** The running assistant's view of the connection; null when Carapace is not running. */
  health: ChannelHealth | null;
}

/**
 * The running assistant's channel states, or undefined when none answers. With `reload`, it first connects the
 * channels set up since it started and drops the removed ones.
 */
export async function liveHealth(config: Config, reload = false): Promise<Record<string, ChannelHealth> | undefined> {
  const api = localApi(config);
  if (!api) return undefined;
  try {
    const init = reload ? { method: 'POST', signal: AbortSignal.timeout(15_000) } : { signal: AbortSignal.timeout(3000) };
    const res = await api(reload ? '/api/channels/reload' : '/api/channels', init);
    return res.ok ? ((await res.json()) as Record<string, ChannelHealth>) : undefined;
  } catch {
    return undefined;
  }
}

export async function channelSummaries(ctx: CliContext): Promise<ChannelSummary[]> {
  const config = ctx.config();
  const live = await liveHealth(config);
  const owners = new Map<string, ChannelSummary['owner']>();
  await ifStore(ctx, (store) => {
    for (const p of botPlugins()) {
      const owner = store.ownerOf(p.name);
      if (owner) owners.set(p.name, { name: owner.name, chatId: owner.chatId });
    }
  });
  return botPlugins().map((p) => ({
    name: p.name,
    account: p.setup.account(config) ?? null,
    owner: owners.get(p.name) ?? null,
    health: live?.[p.name] ?? null,
  }));
}

export function renderChannels(list: ChannelSummary[]): string {
  const lines = list.map((c) => {
    if (!c.account) return `  ${c.name}: not set up (carapace channel add ${c.name})`;
    const owner = c.owner ? `owner ${c.owner.name} (${c.owner.chatId})` : `no owner yet (carapace channel pair ${c.name})`;
    const state = c.health
      ? `${c.health.state}${c.health.mode ? `, ${c.health.mode}` : ''}: ${c.health.detail}`
      : 'not connected: Carapace is not running';
    return `  ${c.name}: ${c.account}, ${owner}\n      ${state}`;
  });
  return ['Channels:', ...lines].join('\n');
}

export function addChannelCommands(program: Command, ctx: CliContext, exitWith: (code: number) => void): void {
  const channel = program.command('channel').description('bot channels (Telegram, Slack, Discord): set up, pair the owner, list, remove');
  const add = channel.command('add').description('set up a bot channel: prove its token(s) and save them owner-only');
  for (const plugin of botPlugins()) {
    const cmd = add.command(plugin.name).description(`set up ${plugin.name}`).addHelpText('after', `\n${plugin.setup.addHelp}`);
    for (const o of plugin.setup.addOptions) cmd.option(o.flags, o.description);
    cmd.action(async (opts: Record<string, unknown>) => exitWith(await addChannel(ctx, plugin, opts)));
  }
  channel
    .command('pair')
    .description('print a one-time code (10 minutes) that makes whoever sends it to the bot in a DM its owner')
    .argument('<name>', 'the channel (telegram, slack, discord)')
    .option('--json', 'print the code and its expiry as JSON')
    .action((name: string, o: { json?: boolean }) => pairChannel(ctx, botPlugin(name), o.json === true));
  channel
    .command('remove')
    .description('forget a bot channel’s token(s) and owner (its registered chats stay, unanswered)')
    .argument('<name>', 'the channel (telegram, slack, discord)')
    .action((name: string) => removeChannel(ctx, botPlugin(name)));
  channel
    .command('list', { isDefault: true })
    .description('each bot channel: its account, owner and connection')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await channelSummaries(ctx);
      if (o.json) writeJson(ctx, list);
      else ctx.out.write(`${renderChannels(list)}\n`);
    });
}

export async function addChannel(ctx: CliContext, plugin: BotPlugin, opts: Record<string, unknown>): Promise<number> {
  try {
    const account = await plugin.setup.add(opts, setupIO(ctx));
    const live = (await liveHealth(ctx.config(), true))?.[plugin.name];
    const state = live ? `The running Carapace connected it (${live.state}: ${live.detail}).` : 'It connects when Carapace starts (`npm start`).';
    ctx.out.write(
      `Saved: ${plugin.name} as ${account}. ${state}\n` +
        `Next: run \`carapace channel pair ${plugin.name}\` and send the code to ${plugin.setup.pairHint(ctx.config())}.\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof SetupError) throw new CliError(err.message);
    throw err;
  }
}

async function pairChannel(ctx: CliContext, plugin: BotPlugin, json: boolean): Promise<void> {
  const config = ctx.config();
  if (!plugin.setup.account(config)) throw new CliError(`${plugin.name} is not set up: run \`carapace channel add ${plugin.name}\` first.`);
  const code = newPairingCode();
  const expiresAt = Date.now() + PAIRING_CODE_TTL_MS;
  await onStore(ctx, (store) => store.issuePairingCode(plugin.name, code, expiresAt));
  const running = (await liveHealth(config))?.[plugin.name];
  if (json) return writeJson(ctx, { channel: plugin.name, code, expiresAt: new Date(expiresAt).toISOString(), connected: running?.state === 'connected' });
  ctx.out.write(
    `Send this code to ${plugin.setup.pairHint(config)} within 10 minutes:\n\n    ${code}\n\n` +
      'Whoever sends it first becomes the owner; their chat becomes the main chat if main is still the local chat.\n' +
      (running ? '' : 'Carapace is not running or this channel is not connected: start it (`npm start`) so the bot can receive the code.\n'),
  );
}

async function removeChannel(ctx: CliContext, plugin: BotPlugin): Promise<void> {
  const config = ctx.config();
  plugin.setup.remove(config);
  await ifStore(ctx, (store) => store.forgetOwner(plugin.name));
  const running = (await liveHealth(config, true)) !== undefined;
  ctx.out.write(`Removed ${plugin.name}'s token(s) and owner.${running ? ' The running Carapace disconnected it.' : ''}\n`);
}
