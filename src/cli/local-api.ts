import type { Config } from '../config.js';

/** Where the running assistant's local API listens (the web chat's server). */
export function localApiUrl(config: Config): string {
  const host = config.web.host.includes(':') ? `[${config.web.host}]` : config.web.host;
  return `http://${host}:${config.web.port}/`;
}
