// What a command runs with: where it writes, its configuration (loaded only when a command runs, so `--help`
// touches nothing), the exit code it ends with, and seams for tests.
import type { Writable } from 'node:stream';
import type { SocketFactory } from '../channels/whatsapp/socket.js';
import { loadConfig, type Config } from '../config.js';

export interface CliContext {
  out: Writable;
  err: Writable;
  /** The configuration without requiring model credentials (only `start` needs them). */
  config(): Config;
  exitCode: number;
  /** Only for tests: the WhatsApp socket factory (standalone pairing, `start`), and how often to poll a running Carapace. */
  whatsapp?: { factory?: SocketFactory; pollMs?: number };
}

/** The context of the real command line: stdout, stderr and the environment (with .env). */
export function processContext(): CliContext {
  let config: Config | undefined;
  return {
    out: process.stdout,
    err: process.stderr,
    config: () => (config ??= loadConfig(undefined, { requireCredentials: false })),
    exitCode: 0,
  };
}

/** Write data as indented JSON (the `--json` output of every command that has one). */
export function writeJson(ctx: CliContext, data: unknown): void {
  ctx.out.write(`${JSON.stringify(data, null, 2)}\n`);
}
