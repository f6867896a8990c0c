// Where a running Carapace logs: JSON lines to a size-rotated file under the data directory (pino-roll), and to
// the terminal — readable (pino-pretty) on a TTY, JSON lines when piped or run by a service manager.
import { chmodSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { createLogger } from '../log.js';

interface RollOptions {
  file: string;
  size: string;
  limit: { count: number };
  symlink: boolean;
  mode: number;
  extension: string;
  sync: boolean;
}
// pino-roll ships no type declarations; this is the part of its API used here.
const pinoRoll = createRequire(import.meta.url)('pino-roll') as (opts: RollOptions) => Promise<pino.DestinationStream>;

/** The fields every line carries that a person reading a terminal does not need. */
export const PRETTY_IGNORE = 'pid,hostname,app';

/** The rotating JSON-lines file: `carapace.<n>.log`, at most `keep` old ones beside the current. */
export function openLogFile(config: Pick<Config, 'dataDir' | 'logFile'>): Promise<pino.DestinationStream> {
  // Owner-only: the lines quote chats, and as root the data directory itself is traversable by the sandbox uid.
  const dir = dataPaths(config.dataDir).logsDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return pinoRoll({
    file: join(dir, 'carapace'),
    extension: '.log',
    size: `${config.logFile.maxMb}m`,
    limit: { count: config.logFile.keep },
    symlink: true, // current.log: the file being written, for `carapace logs -f` and `tail -F`
    mode: 0o600,
    sync: true, // the last lines before a crash are the ones worth having
  });
}

/** A terminal by its file descriptor (1: stdout), and whether it is a TTY. */
export interface Terminal {
  fd: number;
  isTTY: boolean;
}

async function terminalStream(terminal: Terminal): Promise<pino.DestinationStream> {
  if (!terminal.isTTY) return pino.destination({ dest: terminal.fd, sync: true });
  const { PinoPretty } = await import('pino-pretty'); // a service's log needs no colours: not loaded there
  return PinoPretty({ colorize: true, destination: terminal.fd, sync: true, ignore: PRETTY_IGNORE, translateTime: 'SYS:HH:MM:ss' });
}

/** The logger of `carapace start`: every line to the log file and the terminal. */
export async function openAppLogger(config: Config, terminal: Terminal = { fd: 1, isTTY: process.stdout.isTTY === true }): Promise<Logger> {
  const file = await openLogFile(config);
  const level = config.logLevel;
  return createLogger(level, pino.multistream([{ level, stream: file }, { level, stream: await terminalStream(terminal) }]));
}
