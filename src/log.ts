import pino, { type Logger } from 'pino';

/** Structured JSON logs (pino). `destination` lets tests and the CLI choose where they go. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { app: 'carapace' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
