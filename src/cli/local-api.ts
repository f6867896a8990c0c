import { existsSync } from 'node:fs';
import { localChatToken } from '../app.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';

/** Where the running assistant's local API listens (the web chat's server). */
export function localApiUrl(config: Config): string {
  const host = config.web.host.includes(':') ? `[${config.web.host}]` : config.web.host;
  return `http://${host}:${config.web.port}/`;
}

export type LocalApi = (path: string, init?: RequestInit) => Promise<Response>;

/** Requests to the running assistant's local API, with its token; undefined when it was never started here. */
export function localApi(config: Config): LocalApi | undefined {
  if (!existsSync(dataPaths(config.dataDir).localToken)) return undefined;
  const token = localChatToken(config.dataDir);
  return (path, init = {}) =>
    fetch(new URL(path, localApiUrl(config)), { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}
