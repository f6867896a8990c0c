import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';
import { writeJson, type CliContext } from './context.js';

/**
 * Run `fn` on the store, or say there is none yet (not an error: nothing has happened yet). With `emptyJson`
 * (a `--json` command), that is said as the command's empty answer instead.
 */
export async function withStore(ctx: CliContext, fn: (store: Store, config: Config) => void | Promise<void>, emptyJson?: unknown): Promise<void> {
  const config = ctx.config();
  if (!existsSync(dataPaths(config.dataDir).db)) {
    if (emptyJson !== undefined) writeJson(ctx, emptyJson);
    else ctx.out.write(`No data yet at ${config.dataDir}: start Carapace with \`npm start\`.\n`);
    return;
  }
  await onStore(ctx, fn);
}

/** Run `fn` on the store only if there is one; silently nothing otherwise. */
export async function ifStore(ctx: CliContext, fn: (store: Store, config: Config) => void | Promise<void>): Promise<void> {
  if (existsSync(dataPaths(ctx.config().dataDir).db)) await onStore(ctx, fn);
}

/** Run `fn` on the store, creating it (and the data directory) when this install has none yet. */
export async function onStore(ctx: CliContext, fn: (store: Store, config: Config) => void | Promise<void>): Promise<void> {
  const config = ctx.config();
  const db = openDatabase(dataPaths(config.dataDir).db);
  try {
    await fn(new Store(db), config);
  } finally {
    db.close();
  }
}
