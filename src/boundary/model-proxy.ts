import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { sameSecret } from '../secret-compare.js';
import { isCredentialRefusal } from './model-check.js';
import { pipeCoalesced } from './coalesced-pipe.js';
import { listenForSandbox } from './sandbox-socket.js';
import { meterResponse, type MeteredUsage } from './usage-meter.js';

/** One admitted model call: settled to the usage it reported, or released when it reported none. */
export interface ModelCallTicket {
  settle(usage: MeteredUsage): void;
  release(): void;
}
export type CallAdmission = { ok: true; ticket: ModelCallTicket } | { ok: false; message: string };

/** What a call may cost, read off its request before it goes out. */
export interface CallEstimate {
  /** The most it may take in all: `inputTokens` + `maxTokens`. */
  tokens: number;
  /** Its input, estimated as the body's bytes / 4. */
  inputTokens: number;
  /** Its output cap (`max_tokens`). */
  maxTokens: number;
  /** The model it names, for pricing. */
  model?: string;
}

export interface ModelProxyOptions {
  socketPath: string;
  /** The per-run secret the sandbox presents as its API key. */
  token: string;
  upstreamUrl: string;
  credentials: { apiKey?: string; oauthToken?: string };
  log: Logger;
  /**
   * Asked before each model call; `estimate()` reads the most it may cost off the request (see `callEstimate`),
   * which parses the whole body, so it is left uncalled where no budget applies. A refusal (e.g. the group's
   * daily budget cannot cover it) is answered without a call. The ticket is settled or released when it ends.
   */
  reserve?: (estimate: () => CallEstimate) => CallAdmission;
  /** The upstream refused the credential (401/403): retrying cannot help, so the run should end and say why. */
  onCredentialRefused?: (status: number) => void;
  /** No call leaves before this time (epoch ms): a task fed ahead of its due time is asked of the model on the dot. */
  notBefore?: () => number;
}

/**
 * What a sandbox may call with the real credential: the model, nothing else on the account (files, batches,
 * models, admin). The CLI calls only POST /v1/messages?beta=true; count_tokens (free) was called at start by
 * earlier CLI versions. Matched against the raw request path, before any decoding, and forwarded exactly as
 * matched: every character is plain, so no dot segment, encoded dot or slash, backslash or empty segment can
 * get through to climb out of the upstream's base path.
 */
const ROUTES: { method: string; path: string; modelCall: boolean }[] = [
  { method: 'POST', path: '/v1/messages', modelCall: true },
  { method: 'POST', path: '/v1/messages/count_tokens', modelCall: false },
];
/** Query strings the SDK sends (`?beta=true`): plain name=value pairs. */
const QUERY = /^(\?[\w.~=&%+,-]*)?$/;
/** The Messages API's own request size limit. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Bytes of request JSON per input token, for the input half of a call's reservation (text runs ~4 bytes/token). */
const BYTES_PER_TOKEN = 4;
/**
 * A bigger request is not parsed for its estimate: parsing holds the host's event loop, for every chat, ~3 ms
 * per MB (~50 ms at the 32 MB limit), and an agent holds the run token and can send such requests at will.
 */
const PARSE_LIMIT_BYTES = 1024 * 1024;
/** The output cap assumed for a request that is not parsed: the largest any Claude model takes (128K). */
const UNPARSED_MAX_TOKENS = 128_000;

// Hop-by-hop, length and credential headers never cross the proxy from the sandbox side …
const DROP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-api-key', 'authorization', 'proxy-authorization']);
// … and the upstream connection's own keep-alive terms do not apply to the sandbox's connection.
const DROP_FROM_UPSTREAM = new Set(['connection', 'keep-alive']);

const apiError = (res: ServerResponse, status: number, type: string, message: string) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
};

/**
 * The most one call may cost: its `max_tokens` (the output cap, thinking included) plus its input, estimated as
 * the body's bytes / 4. Text and JSON run 3–4 bytes a token, so this rarely underestimates; base64 images and
 * PDFs it overestimates (an image is at most a few thousand tokens), which only makes a reservation larger
 * than needed for that call — it is settled to the metered usage when the call ends. Above `PARSE_LIMIT_BYTES`
 * (past ~250K tokens by size, so mostly images and PDFs) the largest output cap and the dearest model's prices
 * are assumed instead of read: too much rather than too little.
 */
export function callEstimate(body: Buffer): CallEstimate {
  const inputTokens = Math.ceil(body.length / BYTES_PER_TOKEN);
  if (body.length > PARSE_LIMIT_BYTES) return { tokens: UNPARSED_MAX_TOKENS + inputTokens, inputTokens, maxTokens: UNPARSED_MAX_TOKENS };
  let maxTokens = 0;
  let model: string | undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8'));
    if (Number.isSafeInteger(parsed?.max_tokens) && parsed.max_tokens > 0) maxTokens = parsed.max_tokens;
    if (typeof parsed?.model === 'string') model = parsed.model.slice(0, 200);
  } catch {
    // not JSON: upstream refuses it, the reservation is released
  }
  return { tokens: maxTokens + inputTokens, inputTokens, maxTokens, model };
}

/** The allowed route for a raw request target, split into the path as matched and its query. */
function matchRoute(method: string, target: string) {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  const route = QUERY.test(query) ? ROUTES.find((r) => r.method === method && r.path === path) : undefined;
  return route && { route, path, query };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', () => resolve(undefined));
  });
}

/** The sandbox's request headers as sent upstream: its own credential swapped for the real one. */
function upstreamHeaders(req: IncomingMessage, credentials: ModelProxyOptions['credentials'], length: number): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP.has(k)) headers[k] = v;
  if (credentials.apiKey) headers['x-api-key'] = credentials.apiKey;
  else if (credentials.oauthToken) headers['authorization'] = `Bearer ${credentials.oauthToken}`;
  headers['accept-encoding'] = 'identity'; // so usage can be read off the stream (compressed answers are decoded too)
  headers['content-length'] = String(length);
  return headers;
}

/**
 * The sandbox's only route to the model: an HTTP server on a Unix socket that is mounted into the sandbox.
 * It checks the run's token, swaps in the real credential, and streams the upstream response back untouched.
 * The real key therefore never exists inside any sandbox.
 */
export async function startModelProxy(opts: ModelProxyOptions): Promise<{ close(): Promise<void> }> {
  const upstream = new URL(opts.upstreamUrl);
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const basePath = upstream.pathname.replace(/\/$/, '');
  const { log } = opts;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '';
    // The CLI presents the run token the way it would the real credential: as an API key or an OAuth bearer token.
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!sameSecret(String(req.headers['x-api-key'] || bearer || ''), opts.token)) {
      log.warn({ target }, 'model proxy: request without the run token refused');
      return apiError(res, 401, 'authentication_error', 'invalid run token');
    }
    const match = matchRoute(req.method ?? '', target);
    if (!match) {
      log.warn({ method: req.method, target }, 'model proxy: route not allowed');
      return apiError(res, 403, 'permission_error', `Carapace's model proxy only forwards model calls, not ${req.method} ${JSON.stringify(target)}`);
    }
    const body = await readBody(req);
    if (!body) return apiError(res, 413, 'request_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    let ticket: ModelCallTicket | undefined;
    if (match.route.modelCall && opts.reserve) {
      const admission = opts.reserve(() => callEstimate(body));
      if (!admission.ok) {
        log.warn({ path: match.path }, `model proxy: call refused: ${admission.message}`);
        return apiError(res, 403, 'permission_error', admission.message);
      }
      ticket = admission.ticket;
    }
    const hold = (opts.notBefore?.() ?? 0) - Date.now();
    if (hold > 0) await sleep(hold);
    if (req.socket.destroyed) return ticket?.release(); // the sandbox went away while the call was held
    forward(req, res, basePath + match.path + match.query, body, ticket);
  };

  function forward(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, ticket: ModelCallTicket | undefined): void {
    const headers = upstreamHeaders(req, opts.credentials, body.length);
    let answered = false;
    const up = send({ protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path, headers }, (upRes) => {
      answered = true;
      if (isCredentialRefusal(upRes.statusCode)) opts.onCredentialRefused?.(upRes.statusCode!);
      upRes.on('error', () => undefined); // cut short: the meter reports what arrived, the client sees the cut
      res.writeHead(upRes.statusCode ?? 502, Object.fromEntries(Object.entries(upRes.headers).filter(([k]) => !DROP_FROM_UPSTREAM.has(k))));
      const meter = ticket && meterResponse(upRes, (usage) => (usage ? ticket.settle(usage) : ticket.release()));
      pipeCoalesced(upRes, res, meter);
    });
    up.on('error', (err) => {
      if (!answered) ticket?.release(); // once answered, the meter settles it (a cut-off stream still cost tokens)
      opts.log.warn({ err: err.message }, 'model proxy: upstream request failed');
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `upstream unreachable: ${err.message}` } }));
    });
    res.on('close', () => up.destroy());
    up.end(body);
  }

  return listenForSandbox(createServer((req, res) => void handle(req, res)), opts.socketPath);
}
