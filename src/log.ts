import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs (pino). `destination` lets tests and the CLI choose where they go. By default lines go to
 * stdout synchronously: the last ones before a crash or a `kill -9` are the ones worth having.
 */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino({ level, base: { app: 'carapace' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * Last resort for bugs: an unhandled rejection or uncaught exception is logged with everything known and the
 * process exits non-zero (a supervisor restarts it; a half-broken orchestrator serving on would be worse).
 * Nothing an agent does may reach these: failures caused by agent-controlled state end that run only.
 */
export function installCrashHandlers(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('unhandledRejection', (reason, promise) => {
    log.fatal({ err: reason, promise: String(promise) }, 'unhandled promise rejection (a bug in Carapace); exiting');
    exit(1);
  });
  process.on('uncaughtException', (err, origin) => {
    log.fatal({ err, origin }, 'uncaught exception (a bug in Carapace); exiting');
    exit(1);
  });
}
