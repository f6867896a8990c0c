import { existsSync } from 'node:fs';
import { localChatToken } from '../app.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { runningInstance } from './instance-info.js';

/** Where the running assistant's local API listens (the web chat's server). */
export function localApiUrl(config: Config): string {
  const host = config.web.host.includes(':') ? `[${config.web.host}]` : config.web.host;
  return `http://${host}:${config.web.port}/`;
}

export type LocalApi = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * Requests to the running assistant's local API, with its token; undefined when it was never started here. The
 * address is the one the running instance wrote down (its port may come from its own environment, or be random).
 */
export function localApi(config: Config): LocalApi | undefined {
  if (!existsSync(dataPaths(config.dataDir).localToken)) return undefined;
  const token = localChatToken(config.dataDir);
  const base = runningInstance(config.dataDir)?.webUrl ?? localApiUrl(config);
  return (path, init = {}) => fetch(new URL(path, base), { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}
