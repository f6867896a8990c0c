import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { listenForSandbox } from './sandbox-socket.js';
import { meterResponse, type MeteredUsage } from './usage-meter.js';

export interface ModelProxyOptions {
  socketPath: string;
  /** The per-run secret the sandbox presents as its API key. */
  token: string;
  upstreamUrl: string;
  credentials: { apiKey?: string; oauthToken?: string };
  log: Logger;
  /** Called with each request's arrival (for tracing/metrics). */
  onRequest?: (path: string) => void;
  /** Called once per model response with the tokens it reported. */
  onUsage?: (usage: MeteredUsage) => void;
  /** Asked before each model call; a refusal (e.g. the group's daily budget is spent) is answered without a call. */
  admit?: () => { ok: true } | { ok: false; message: string };
}

/** What a sandbox may call with the real credential: the model, nothing else on the account (files, batches, admin). */
const ROUTES: { method: string; path: RegExp; modelCall: boolean }[] = [
  { method: 'POST', path: /^\/v1\/messages$/, modelCall: true },
  { method: 'POST', path: /^\/v1\/messages\/count_tokens$/, modelCall: false },
  { method: 'GET', path: /^\/v1\/models(\/[\w.-]+)?$/, modelCall: false },
];

// Hop-by-hop and credential headers never cross the proxy from the sandbox side.
const DROP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'x-api-key', 'authorization', 'proxy-authorization']);

const apiError = (res: ServerResponse, status: number, type: string, message: string) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
};

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * The sandbox's only route to the model: an HTTP server on a Unix socket that is mounted into the sandbox.
 * It checks the run's token, swaps in the real credential, and streams the upstream response back untouched.
 * The real key therefore never exists inside any sandbox.
 */
export async function startModelProxy(opts: ModelProxyOptions): Promise<{ close(): Promise<void> }> {
  const upstream = new URL(opts.upstreamUrl);
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const basePath = upstream.pathname.replace(/\/$/, '');

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // The CLI presents the run token the way it would the real credential: as an API key or an OAuth bearer token.
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const presented = String(req.headers['x-api-key'] || bearer || '');
    if (!sameSecret(presented, opts.token)) {
      opts.log.warn({ path: req.url }, 'model proxy: request without the run token refused');
      return apiError(res, 401, 'authentication_error', 'invalid run token');
    }
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const route = ROUTES.find((r) => r.method === req.method && r.path.test(path));
    if (!route) {
      opts.log.warn({ method: req.method, path }, 'model proxy: route not allowed');
      return apiError(res, 403, 'permission_error', `Carapace's model proxy only forwards model calls, not ${req.method} ${path}`);
    }
    if (route.modelCall && opts.admit) {
      const verdict = opts.admit();
      if (!verdict.ok) {
        opts.log.warn({ path }, `model proxy: call refused: ${verdict.message}`);
        return apiError(res, 403, 'permission_error', verdict.message);
      }
    }
    opts.onRequest?.(req.url ?? '/');
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP.has(k)) headers[k] = v;
    if (opts.credentials.apiKey) headers['x-api-key'] = opts.credentials.apiKey;
    else if (opts.credentials.oauthToken) headers['authorization'] = `Bearer ${opts.credentials.oauthToken}`;
    headers['accept-encoding'] = 'identity'; // so usage can be read off the stream (compressed answers are decoded too)
    const up = send(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: basePath + req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (route.modelCall && opts.onUsage) meterResponse(upRes, opts.onUsage);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => {
      opts.log.warn({ err: err.message }, 'model proxy: upstream request failed');
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `upstream unreachable: ${err.message}` } }));
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  return listenForSandbox(createServer(handle), opts.socketPath);
}
