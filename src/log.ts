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

/** The logger interface libraries such as Baileys take (a subset of pino's). */
export interface LibraryLogger {
  level: string;
  child(bindings: Record<string, unknown>): LibraryLogger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

const LIBRARY_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/**
 * A library's logger that folds repeats: the first line of each kind (level and message) in a window is logged,
 * the rest are only counted, and one line at the end of the window says how many there were. A library that
 * warns every few seconds while offline then costs one line a minute, not a screenful.
 */
export function foldRepeats(log: Logger, windowMs = 60_000): LibraryLogger {
  const seen = new Map<string, { count: number; log: Logger; level: (typeof LIBRARY_LEVELS)[number]; msg: string }>();
  const flush = () => {
    for (const { count, log: target, level, msg } of seen.values()) {
      if (count > 0) target[level]({ repeated: count, windowS: windowMs / 1000 }, `${msg} (${count} more like this, folded)`);
    }
    seen.clear();
  };
  let timer: NodeJS.Timeout | undefined;
  const wrap = (target: Logger): LibraryLogger => {
    const emit = (level: (typeof LIBRARY_LEVELS)[number]) => (obj: unknown, msg?: string) => {
      if (!target.isLevelEnabled(level)) return;
      const text = msg ?? (typeof obj === 'string' ? obj : String((obj as { msg?: unknown })?.msg ?? ''));
      const key = `${level}\0${text}`;
      const entry = seen.get(key);
      if (entry) return void entry.count++;
      seen.set(key, { count: 0, log: target, level, msg: text });
      timer ??= setTimeout(() => ((timer = undefined), flush()), windowMs).unref();
      if (typeof obj === 'string') target[level](obj);
      else target[level](obj as object, msg);
    };
    const logger: LibraryLogger = {
      get level() {
        return target.level;
      },
      set level(level: string) {
        target.level = level;
      },
      child: (bindings) => wrap(target.child(bindings)),
      trace: emit('trace'),
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
    };
    return logger;
  };
  return wrap(log);
}
