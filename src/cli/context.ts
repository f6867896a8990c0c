// What a command runs with: where it writes, its configuration (loaded only when a command runs, so `--help`
// touches nothing), the exit code it ends with, and seams for tests.
import type { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
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

/** Data as JSON (`--json`), or as the text `render` makes of it. */
export function printResult<T>(ctx: CliContext, json: boolean | undefined, data: T, render: (data: T) => string): void {
  if (json) writeJson(ctx, data);
  else ctx.out.write(`${render(data)}\n`);
}

/** A commander argument parser for counts and durations: a whole number ≥ 1. */
export function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return n;
}
