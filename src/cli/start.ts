// `carapace start`: take the data directory's lock, start everything, and stop cleanly on SIGINT/SIGTERM.
import type { Logger } from 'pino';
import { startCarapace, type Carapace } from '../app.js';
import type { Channel } from '../channels/channel.js';
import { readPairing } from '../channels/whatsapp/auth.js';
import { whatsappOptions } from '../channels/whatsapp/plugin.js';
import { loadConfig, type Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { recordBackend } from '../sandbox/backend-record.js';
import { installCrashHandlers } from '../log.js';
import { firstStartAudit } from './audit.js';
import type { CliContext } from './context.js';
import { writeInstanceInfo } from './instance-info.js';
import { lockDataDir, type InstanceLock } from './instance-lock.js';
import { openAppLogger } from './logging.js';
import { preflightModel } from './model-preflight.js';

export async function start(ctx: CliContext): Promise<void> {
  const config = loadConfig(); // start needs model credentials; nothing is touched before they are checked
  const say = (line: string) => ctx.err.write(`${line}\n`);
  await preflightModel(config, say);
  // Before anything else (orphan cleanup removes sandboxes this data directory's instance would own).
  const lock = lockDataDir(config.dataDir);
  const log = await openAppLogger(config);
  installCrashHandlers(log); // a true bug ends the process loudly (non-zero) for the supervisor to restart
  // Handlers first: a signal that found none would end the process at once, leaving its pid file behind.
  const stopper = stopOnSignals(lock, log, config);
  let app: Carapace;
  try {
    app = await startCarapace(config, log, { onProgress: say, channels: await testChannels(ctx, config, log) });
  } catch (err) {
    lock.release();
    throw err;
  }
  recordBackend(dataPaths(config.dataDir).sandboxState, app.runtime.kind);
  writeInstanceInfo(config.dataDir, { startedAt: Date.now(), backend: app.runtime.kind, webUrl: app.local.address().url });
  firstStartAudit(config, app.store, say, log);
  say(`\nCarapace is running (sandbox: ${app.runtime.kind}). Chat with ${config.assistantName}:\n  web:      ${app.chatUrl}\n  terminal: npm run chat\n  logs:     carapace logs -f (${dataPaths(config.dataDir).logsDir})\n`);
  if (app.pairing && !readPairing(dataPaths(config.dataDir).whatsappAuth).paired) {
    say('WhatsApp is not paired yet: scan the QR code on the web page, or run `carapace whatsapp pair`.\n');
  }
  stopper.started(app);
}

/**
 * SIGINT/SIGTERM stop Carapace cleanly. One that arrives while it is still starting (an image build can take
 * minutes) ends it at once: nothing is half-served yet, and the next start cleans up any sandbox left behind.
 */
function stopOnSignals(lock: InstanceLock, log: Logger, config: Config): { started(app: Carapace): void } {
  let app: Carapace | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, dataDir: config.dataDir, starting: !app }, 'shutting down');
    if (!app) {
      lock.release();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.stop();
    lock.release();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () =>
      void shutdown(signal).catch((err) => {
        log.error({ err }, 'could not shut down cleanly');
        process.exit(1);
      }),
    );
  }
  return { started: (started) => void (app = started) };
}

/** A test's WhatsApp socket factory (the fault harness runs the real `start` over a fake WhatsApp). */
async function testChannels(ctx: CliContext, config: Config, log: Logger): Promise<Channel[] | undefined> {
  const factory = ctx.whatsapp?.factory;
  if (!factory) return undefined;
  const { WhatsAppChannel } = await import('../channels/whatsapp/whatsapp-channel.js'); // Baileys: ~20 MB of heap
  return [new WhatsAppChannel({ ...whatsappOptions(config, log), factory })];
}
