// `carapace start`: take the data directory's lock, start everything, and stop cleanly on SIGINT/SIGTERM.
import type { Logger } from 'pino';
import { startCarapace, type Carapace } from '../app.js';
import { readPairing } from '../channels/whatsapp/auth.js';
import { loadConfig, type Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { createLogger, installCrashHandlers } from '../log.js';
import type { CliContext } from './context.js';
import { lockDataDir, type InstanceLock } from './instance-lock.js';

export async function start(ctx: CliContext): Promise<void> {
  const config = loadConfig(); // start needs model credentials; nothing is touched before they are checked
  const log = createLogger(config.logLevel);
  installCrashHandlers(log); // a true bug ends the process loudly (non-zero) for the supervisor to restart
  const say = (line: string) => ctx.err.write(`${line}\n`);
  // Before anything else (orphan cleanup removes sandboxes this data directory's instance would own).
  const lock = await lockDataDir(config.dataDir);
  // Handlers first: a signal that found none would end the process at once, lock and all, mid-start.
  const stopper = stopOnSignals(lock, log, config);
  let app: Carapace;
  try {
    app = await startCarapace(config, log, { onProgress: say });
  } catch (err) {
    await lock.release();
    throw err;
  }
  say(`\nCarapace is running. Chat with ${config.assistantName}:\n  web:      ${app.chatUrl}\n  terminal: npm run chat\n`);
  if (app.pairing && !readPairing(dataPaths(config.dataDir).whatsappAuth).paired) {
    say('WhatsApp is not paired yet: scan the QR code on the web page, or run `carapace whatsapp pair`.\n');
  }
  stopper.started(app);
}

/** SIGINT/SIGTERM stop Carapace cleanly; one that arrives while it is still starting takes effect once it is up. */
function stopOnSignals(lock: InstanceLock, log: Logger, config: Config): { started(app: Carapace): void } {
  let app: Carapace | undefined;
  let requested: string | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (!app) {
      requested ??= signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    log.info({ signal, dataDir: config.dataDir }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.stop();
    await lock.release();
    process.exit(0);
  };
  const onSignal = (signal: string) =>
    shutdown(signal).catch((err) => {
      log.error({ err }, 'could not shut down cleanly');
      process.exit(1);
    });
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  return {
    started(started) {
      app = started;
      if (requested) void onSignal(requested);
    },
  };
}
