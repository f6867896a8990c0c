import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Channel } from './channels/channel.js';
import { LocalChannel, OWNER_CHAT_ID, type ChatLine } from './channels/local/local-channel.js';
import { readPairing } from './channels/whatsapp/auth.js';
import type { WhatsAppChannel, WhatsAppChannelOptions } from './channels/whatsapp/whatsapp-channel.js';
import type { Config } from './config.js';
import { Orchestrator } from './core/orchestrator.js';
import { dataPaths } from './fs/paths.js';
import type { SandboxRuntime } from './sandbox/runtime.js';
import { selectRuntime } from './sandbox/select.js';
import { openDatabase } from './store/db.js';
import { Store } from './store/store.js';

export interface Carapace {
  orchestrator: Orchestrator;
  store: Store;
  local: LocalChannel;
  /** Present when WhatsApp is enabled. */
  whatsapp?: WhatsAppChannel;
  runtime: SandboxRuntime;
  /** The web chat's address, with the token in the fragment (never sent to a server log). */
  chatUrl: string;
  stop(): Promise<void>;
}

/** The local chat's secret: created once, readable only by the owner. */
export function localChatToken(dataDir: string): string {
  const file = dataPaths(dataDir).localToken;
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** WHATSAPP_ENABLED=1 connects (and shows a QR code until paired); unset, WhatsApp is on once paired. */
export function whatsappEnabled(config: Config): boolean {
  const { enabled } = config.whatsapp;
  return enabled === 'auto' ? readPairing(dataPaths(config.dataDir).whatsappAuth).paired : enabled;
}

/** The WhatsApp channel's settings for this install (its login lives in the data directory). */
export function whatsappOptions(config: Config, log: Logger): WhatsAppChannelOptions {
  const paths = dataPaths(config.dataDir);
  const { ownNumber, mainChat, maxMediaBytes, sendPerMinute, sendBurst } = config.whatsapp;
  return {
    authDir: paths.whatsappAuth,
    lockFile: paths.whatsappLock,
    assistantName: config.assistantName,
    log,
    ownNumber,
    mainChat,
    maxMediaBytes,
    sendPerMinute,
    sendBurst,
  };
}

/** The WhatsApp channel over real Baileys; loaded only when used (Baileys takes a while to import). */
export async function createWhatsApp(config: Config, log: Logger): Promise<WhatsAppChannel> {
  const { WhatsAppChannel } = await import('./channels/whatsapp/whatsapp-channel.js');
  return new WhatsAppChannel(whatsappOptions(config, log));
}

/** Wire the store, sandbox runtime, channels and orchestrator together and start them. */
export async function startCarapace(
  config: Config,
  log: Logger,
  opts: {
    runtime?: SandboxRuntime;
    channels?: Channel[];
    /** Progress of an agent image build at start-up (image backends, first start after a code change). */
    onProgress?: (line: string) => void;
  } = {},
): Promise<Carapace> {
  const paths = dataPaths(config.dataDir);
  const progress = opts.onProgress ?? ((line: string) => log.info(line));
  let runtime = opts.runtime;
  if (runtime) {
    const available = await runtime.available();
    if (!available.ok) throw new Error(`The ${runtime.kind} sandbox cannot run here: ${available.reason}`);
    await runtime.prepare(progress);
  } else {
    runtime = await selectRuntime(config.runtime, { stateDir: paths.sandboxState, image: config.image }, undefined, undefined, progress);
  }
  const db = openDatabase(paths.db);
  const store = new Store(db);

  const history = (chatId: string, limit: number): ChatLine[] =>
    store.recentMessages(chatId, limit).map((m) => ({
      id: String(m.id),
      from: m.fromAssistant ? 'assistant' : 'user',
      senderName: m.fromAssistant && m.senderName === 'assistant' ? config.assistantName : m.senderName,
      text: m.text,
      timestamp: m.timestamp,
    }));
  const channels = [...(opts.channels ?? [])];
  let whatsapp = channels.find((c) => c.name === 'whatsapp') as WhatsAppChannel | undefined;
  if (!whatsapp && whatsappEnabled(config)) channels.push((whatsapp = await createWhatsApp(config, log)));
  const local = new LocalChannel({
    host: config.web.host,
    port: config.web.port,
    token: localChatToken(config.dataDir),
    assistantName: config.assistantName,
    history,
    whatsapp,
    onWake: () => orchestrator.rescan(),
  });
  const orchestrator: Orchestrator = new Orchestrator({ config, store, runtime, channels: [local, ...channels], log });
  // The owner's local chat is the main chat out of the box.
  if (!store.groupByChat(OWNER_CHAT_ID) && !store.listGroups().some((g) => g.isMain)) {
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
  try {
    await orchestrator.start();
  } catch (err) {
    await orchestrator.stop();
    db.close();
    throw err;
  }
  const { url } = local.address();
  return {
    orchestrator,
    store,
    local,
    whatsapp,
    runtime,
    chatUrl: `${url}#token=${localChatToken(config.dataDir)}`,
    async stop() {
      await orchestrator.stop();
      db.close();
    },
  };
}
