// TLS interception for hosts a group holds a secret for: the egress proxy hands such a CONNECT here instead of
// tunnelling it. The sandbox's TLS ends at a certificate from the install's CA; each request is checked, the
// placeholder in the secret's one header is swapped for the value (only for the secret's own host), and the
// request goes on over verified TLS. A placeholder anywhere else is refused and reported; a response that
// echoes a value gets the placeholder back in its place.
import { createServer, type IncomingMessage, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { createSecureContext, rootCertificates, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { InterceptCa } from './intercept-ca.js';
import { redactStream, redactText } from './redact-stream.js';
import { PLACEHOLDER_PATTERN, placeholder, sentTo, type Secret } from './secret-vault.js';

export interface InterceptTarget {
  host: string;
  port: number;
  /** The address the egress policy checked: the upstream connection goes there and nowhere else. */
  ip: string;
}

export interface LeakReport {
  host: string;
  port: number;
  method: string;
  reason: string;
}

export interface InterceptorOptions {
  /** The group's granted secrets, read on every request. */
  secrets: () => readonly Secret[];
  ca: InterceptCa;
  /** Extra PEM roots for verifying upstreams (tests' local HTTPS server); the public roots always apply. */
  upstreamCa?: string;
  log: Logger;
  /** A placeholder was sent where it does not belong; the request was refused. */
  onLeak?: (leak: LeakReport) => void;
}

export interface Interceptor {
  /** Is a CONNECT to host:port terminated here (some granted secret is for that host and port)? */
  wants(host: string, port: number): boolean;
  /** Take over an allowed CONNECT: answer 200, then speak TLS to the client as `target.host`. */
  take(client: Duplex, head: Buffer, target: InterceptTarget): void;
  /** A plain-HTTP request carrying a placeholder: why it is refused (secrets never travel in clear text). */
  plainLeak(host: string, port: number, req: IncomingMessage): string | undefined;
  close(): void;
}

const UPSTREAM_TIMEOUT_MS = 30_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

type Rewrite = { ok: true; headers: OutgoingHttpHeaders } | { ok: false; reason: string };

/** Why one header value holding a placeholder may not carry it, or the value with the secret put in. */
function substituted(secrets: readonly Secret[], to: { host: string; port: number }, header: string, value: string): { value: string } | { reason: string } {
  const names = [...value.matchAll(new RegExp(PLACEHOLDER_PATTERN, 'gi'))].map((m) => m[1].toLowerCase());
  const secret = secrets.find((s) => s.name === names[0]);
  if (names.length !== 1 || !secret) return { reason: `placeholder ${names.map(placeholder).join(', ')} in ${header} is not a secret granted to this chat` };
  if (!sentTo(secret, to.host, to.port)) return { reason: `secret "${secret.name}" may only be sent to ${secret.host}, not ${to.host}:${to.port}` };
  if (header !== secret.header) return { reason: `secret "${secret.name}" may only be sent in the ${secret.header} header, not ${header}` };
  const shaped = secret.format.replace('{}', placeholder(secret.name));
  if (value !== shaped && value !== placeholder(secret.name)) return { reason: `the ${header} header must be "${shaped}"` };
  return { value: secret.format.replace('{}', () => secret.value) };
}

/** The request's headers for upstream, each granted placeholder replaced; refused if one is anywhere else. */
export function rewriteRequest(secrets: readonly Secret[], to: { host: string; port: number }, url: string, headers: IncomingHttpHeaders): Rewrite {
  if (hasPlaceholder(url)) return { ok: false, reason: `a secret placeholder in the URL is never sent (${to.host})` };
  const out: OutgoingHttpHeaders = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined || HOP_BY_HOP.has(name)) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    const rewritten: string[] = [];
    for (const value of values) {
      if (!PLACEHOLDER_PATTERN.test(value)) {
        rewritten.push(value);
        continue;
      }
      const s = substituted(secrets, to, name, value);
      if ('reason' in s) return { ok: false, reason: s.reason };
      rewritten.push(s.value);
    }
    out[name] = Array.isArray(raw) ? rewritten : rewritten[0];
  }
  out['accept-encoding'] = 'identity'; // a compressed answer could not be redacted
  out.host = to.port === 443 ? to.host : `${to.host}:${to.port}`; // the host the secret is for, whatever the client claimed
  return { ok: true, headers: out };
}

/** Does `text` hold a placeholder, also percent-encoded (byte by byte: malformed escapes cannot hide one)? */
function hasPlaceholder(text: string): boolean {
  return PLACEHOLDER_PATTERN.test(text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-carapace-egress': 'denied', connection: 'close' });
  res.end(`Carapace egress policy: ${reason}.\n`);
}

/** The response's headers with every secret value swapped back to its placeholder. */
function redactHeaders(headers: IncomingHttpHeaders, pairs: [string, string][]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k === 'content-length') continue; // redaction may change the length
    out[k] = Array.isArray(v) ? v.map((x) => redactText(x, pairs)) : redactText(v, pairs);
  }
  return out;
}

const DECODERS: Record<string, () => Duplex> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** The answer's body as plain bytes (an upstream may compress although asked not to), or undefined if it cannot be. */
function plainBody(upRes: IncomingMessage): Readable | undefined {
  const encoding = String(upRes.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return upRes;
  const decoder = DECODERS[encoding];
  return decoder ? upRes.pipe(decoder()) : undefined;
}

/** Forward one checked request over verified TLS and stream the redacted answer back. */
function forward(opts: InterceptorOptions, agent: Agent, target: InterceptTarget, req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders): void {
  const pairs = opts.secrets().map((s): [string, string] => [s.value, placeholder(s.name)]);
  const up = httpsRequest(
    {
      host: target.ip,
      port: target.port,
      servername: isIP(target.host) ? undefined : target.host,
      method: req.method,
      path: req.url,
      headers,
      timeout: UPSTREAM_TIMEOUT_MS,
      agent,
    },
    (upRes) => {
      const body = plainBody(upRes);
      if (!body) return refuse(res, 502, `${target.host} answered in an encoding that cannot be checked for the secret (${upRes.headers['content-encoding']})`);
      const { 'content-encoding': _dropped, ...headers } = redactHeaders(upRes.headers, pairs);
      res.writeHead(upRes.statusCode ?? 502, headers);
      body.on('error', () => res.destroy());
      body.pipe(redactStream(pairs)).pipe(res);
    },
  );
  up.on('timeout', () => up.destroy(new Error('the site did not answer in time')));
  up.on('error', (err: NodeJS.ErrnoException) => refuse(res, 502, `request to ${target.host} failed: ${err.code ?? err.message}`));
  res.on('close', () => up.destroy());
  req.pipe(up);
}

export function createInterceptor(opts: InterceptorOptions): Interceptor {
  const targets = new WeakMap<object, InterceptTarget>();
  const contexts = new WeakMap<object, SecureContext>(); // per leaf certificate (the CA caches those per host)
  const open = new Set<Duplex>();
  const report = (leak: LeakReport) => {
    opts.log.warn(leak, 'secret placeholder refused');
    opts.onLeak?.(leak);
  };
  // Upstream connections are kept alive and reused: the second handshake is paid once per host, not per request.
  const agent = new Agent({ keepAlive: true, ca: opts.upstreamCa ? [...rootCertificates, opts.upstreamCa] : undefined });
  const server = createServer((req, res) => {
    const target = targets.get(req.socket);
    if (!target) return refuse(res, 500, 'lost track of the connection');
    const rewrite = rewriteRequest(opts.secrets(), target, req.url ?? '/', req.headers);
    if (!rewrite.ok) {
      report({ host: target.host, port: target.port, method: req.method ?? '', reason: rewrite.reason });
      return refuse(res, 403, rewrite.reason);
    }
    opts.log.info({ host: target.host, method: req.method }, 'egress intercepted');
    forward(opts, agent, target, req, res, rewrite.headers);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return {
    wants: (host, port) => opts.secrets().some((s) => sentTo(s, host, port)),
    take(client, head, target) {
      if (head.length) client.unshift(head);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const leaf = opts.ca.leaf(target.host);
      const secureContext = contexts.get(leaf) ?? contexts.set(leaf, createSecureContext(leaf)).get(leaf)!;
      const tls = new TLSSocket(client, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
      targets.set(tls, target);
      open.add(client);
      tls.on('error', () => client.destroy());
      client.once('close', () => open.delete(client));
      server.emit('connection', tls);
    },
    plainLeak(host, port, req) {
      const found = [req.url ?? '', ...Object.values(req.headers).flat()].some((v) => typeof v === 'string' && hasPlaceholder(v));
      if (!found) return undefined;
      const reason = `a secret placeholder is never sent over plain HTTP (${host})`;
      report({ host, port, method: req.method ?? '', reason });
      return reason;
    },
    close() {
      for (const c of open) c.destroy();
      agent.destroy();
      server.close();
    },
  };
}
