import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Channel, ChannelHealth, PairingPanel } from './channels/channel.js';
import { LocalChannel, OWNER_CHAT_ID, type ChatLine } from './channels/local/local-channel.js';
import { ConsoleApi } from './channels/local/console-api.js';
import type { ConsoleDeps } from './channels/local/console-context.js';
import { CHANNEL_PLUGINS } from './channels/registry.js';
import type { Config } from './config.js';
import { Orchestrator } from './core/orchestrator.js';
import { runBoard } from './core/run-board.js';
import { APP_ROOT } from './app-root.js';
import { dataPaths, ensureSandboxDir, secureDataDir } from './fs/paths.js';
import { installAgentSkills } from './memory/agent-skills.js';
import type { SandboxRuntime } from './sandbox/runtime.js';
import { selectRuntime } from './sandbox/select.js';
import { openDatabase } from './store/db.js';
import { Store } from './store/store.js';

export interface Carapace {
  orchestrator: Orchestrator;
  store: Store;
  local: LocalChannel;
  /** Every connected channel, the local chat first. */
  channels: Channel[];
  /** The channel linked from the owner's phone (WhatsApp), when one is enabled. */
  pairing?: PairingPanel;
  runtime: SandboxRuntime;
  /** The web chat's address, with the token in the fragment (never sent to a server log). */
  chatUrl: string;
  stop(): Promise<void>;
}

/** The local chat's secret: created once, readable only by the owner. */
export function localChatToken(dataDir: string): string {
  const file = dataPaths(dataDir).localToken;
  if (!existsSync(file)) {
    secureDataDir(dataDir);
    writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export interface StartOptions {
  runtime?: SandboxRuntime;
  /** Platform channels built by the caller (tests); a registry channel of the same name is then not created. */
  channels?: Channel[];
  /** Progress of an agent image build at start-up (image backends, first start after a code change). */
  onProgress?: (line: string) => void;
}

/** Wire the store, sandbox runtime, channels and orchestrator together and start them. */
export async function startCarapace(config: Config, log: Logger, opts: StartOptions = {}): Promise<Carapace> {
  const progress = opts.onProgress ?? ((line: string) => log.info(line));
  const runtime = await prepareRuntime(config, opts.runtime, progress);
  const db = openDatabase(dataPaths(config.dataDir).db);
  const store = new Store(db);
  const channels = await platformChannels(config, log, opts.channels ?? []);
  const pairing = channels.find((c) => c.pairing)?.pairing;
  // One list, shared with the orchestrator and delivery: channels added or removed while running are in it.
  const all: Channel[] = [];
  const health = () => Object.fromEntries(all.flatMap((c) => (c.health ? [[c.name, c.health()]] : [])));
  const reload = () => reloadChannels(config, log, orchestrator, all);
  let consoleDeps: ConsoleDeps | undefined;
  const consoleApi = new ConsoleApi(runBoard(config.dataDir), () => consoleDeps);
  const local = localChannel(config, store, { pairing, health, reload, console: consoleApi }, () => orchestrator.rescan());
  all.push(local, ...channels);
  const orchestrator: Orchestrator = new Orchestrator({ config, store, runtime, channels: all, log });
  consoleDeps = { config, store, orchestrator, runtime, board: runBoard(config.dataDir), channelHealth: health };
  ensureMainGroup(orchestrator, store, config);
  installSkills(config, log);
  try {
    await orchestrator.start();
  } catch (err) {
    await orchestrator.stop();
    db.close();
    throw err;
  }
  return {
    orchestrator,
    store,
    local,
    channels: all,
    pairing,
    runtime,
    chatUrl: `${local.address().url}#token=${localChatToken(config.dataDir)}`,
    async stop() {
      await orchestrator.stop();
      db.close();
    },
  };
}

/** The given runtime checked and prepared, or the configured one selected. */
async function prepareRuntime(config: Config, given: SandboxRuntime | undefined, progress: (line: string) => void): Promise<SandboxRuntime> {
  if (!given) {
    const state = { stateDir: dataPaths(config.dataDir).sandboxState, image: config.image, maxSharedNetworks: config.maxSandboxes };
    return selectRuntime(config.runtime, state, undefined, undefined, progress);
  }
  const available = await given.available();
  if (!available.ok) throw new Error(`The ${given.kind} sandbox cannot run here: ${available.reason}`);
  await given.prepare(progress);
  return given;
}

/** The caller's channels, plus every registry channel enabled for this install that the caller did not build. */
async function platformChannels(config: Config, log: Logger, given: Channel[]): Promise<Channel[]> {
  const channels = [...given];
  for (const plugin of CHANNEL_PLUGINS) {
    if (channels.some((c) => c.name === plugin.name) || !plugin.enabled(config)) continue;
    channels.push(await plugin.create(config, log));
  }
  return channels;
}

/** What the local page and API show of the platform channels. */
interface LocalPanels {
  pairing?: PairingPanel;
  health: () => Record<string, ChannelHealth>;
  /** `carapace channel add|remove` changed which channels are set up. */
  reload: () => Promise<void>;
  console: ConsoleApi;
}

/** Connect bot channels set up since start, and drop the ones removed (their plug-in no longer enabled). */
async function reloadChannels(config: Config, log: Logger, orchestrator: Orchestrator, running: Channel[]): Promise<void> {
  for (const plugin of CHANNEL_PLUGINS) {
    if (!plugin.setup) continue; // phone-linked channels (WhatsApp) connect and disconnect themselves
    const present = running.some((c) => c.name === plugin.name);
    const enabled = plugin.enabled(config);
    if (enabled && !present) await orchestrator.addChannel(await plugin.create(config, log));
    if (!enabled && present) await orchestrator.removeChannel(plugin.name);
    if (enabled !== present) log.info({ channel: plugin.name, connected: enabled }, enabled ? 'channel added' : 'channel removed');
  }
}

/** The web and terminal chat, showing the stored conversation and the pairing panel of a phone-linked channel. */
function localChannel(config: Config, store: Store, panels: LocalPanels, onWake: () => void): LocalChannel {
  const history = (chatId: string, limit: number): ChatLine[] =>
    store.recentMessages(chatId, limit).map((m) => ({
      id: String(m.id),
      from: m.fromAssistant ? 'assistant' : 'user',
      senderName: m.fromAssistant && m.senderName === 'assistant' ? config.assistantName : m.senderName,
      text: m.text,
      timestamp: m.timestamp,
    }));
  return new LocalChannel({
    host: config.web.host,
    port: config.web.port,
    token: localChatToken(config.dataDir),
    assistantName: config.assistantName,
    history,
    pairing: panels.pairing,
    channelHealth: panels.health,
    onReloadChannels: panels.reload,
    onWake,
    console: panels.console,
  });
}

/** Out of the box, the owner's local chat is the main chat. */
/** The shipped agent skills, once; a folder the main agent broke (a link, a file) is logged, not fatal. */
function installSkills(config: Config, log: Logger): void {
  const paths = dataPaths(config.dataDir);
  try {
    ensureSandboxDir(paths.globalMemory, config.sandbox);
    const installed = installAgentSkills(paths, APP_ROOT, config.sandbox);
    if (installed.length > 0) log.info({ skills: installed }, 'installed agent skills in global/.claude/skills');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'could not install the agent skills');
  }
}

function ensureMainGroup(orchestrator: Orchestrator, store: Store, config: Config): void {
  if (store.groupByChat(OWNER_CHAT_ID) || store.listGroups().some((g) => g.isMain)) return;
  orchestrator.registerGroup({
    channel: 'local',
    chatId: OWNER_CHAT_ID,
    name: 'Owner',
    folder: 'main',
    trigger: `@${config.assistantName}`,
    requiresTrigger: false,
    isMain: true,
  });
}
