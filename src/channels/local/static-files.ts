// The console's page, scripts and styles: plain files served as they are (no inline code, so the page's CSP can
// forbid every inline script and style), plus the two browser libraries it uses from node_modules. Only names
// on a fixed list are served; nothing from the request reaches a path.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { APP_ROOT } from '../../app-root.js';
import { COMMON_HEADERS } from './http.js';

const CONSOLE_DIR = join(APP_ROOT, 'src', 'channels', 'local', 'console');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** URL path → file on disk. */
const FILES: Record<string, string> = {
  '/': join(CONSOLE_DIR, 'index.html'),
  '/vendor/marked.js': join(APP_ROOT, 'node_modules', 'marked', 'lib', 'marked.esm.js'),
  '/vendor/purify.js': join(APP_ROOT, 'node_modules', 'dompurify', 'dist', 'purify.es.mjs'),
};
for (const name of ['console.css', 'app.js', 'api.js', 'chat.js', 'overview.js', 'groups.js', 'runs.js', 'tasks.js', 'spend.js', 'egress.js', 'pairing.js', 'dom.js']) {
  FILES[`/console/${name}`] = join(CONSOLE_DIR, name);
}

// Scripts and styles only from our own origin, as files; nothing inline, nothing from elsewhere.
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const cache = new Map<string, Buffer>();

/** True when `pathname` is one of the console's files (and it was sent). */
export function serveStatic(pathname: string, res: ServerResponse): boolean {
  const file = Object.hasOwn(FILES, pathname) ? FILES[pathname] : undefined;
  if (!file) return false;
  let body = cache.get(file);
  if (!body) cache.set(file, (body = readFileSync(file)));
  const type = TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Security-Policy': PAGE_CSP });
  res.end(body);
  return true;
}
