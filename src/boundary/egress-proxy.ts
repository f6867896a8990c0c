import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { allows, forbiddenReason, normalizeHost, type DomainRule } from './egress-policy.js';
import { listenForSandbox } from './sandbox-socket.js';
import type { Interceptor } from './tls-intercept.js';

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

export interface EgressProxyOptions {
  socketPath: string;
  /** The group's rules, read on every request so a change made from the main chat applies at once. */
  rules: () => readonly DomainRule[];
  /** `ip:port` destinations exempt from the private-address check: LAN services the owner deliberately exposes. */
  privateAllow?: readonly string[];
  /** DNS resolution on the host (the sandbox has none). */
  lookup?: Lookup;
  log: Logger;
  /** Open client connections at most (a runaway agent cannot exhaust the host's sockets). */
  maxConnections?: number;
  /**
   * Asked about a destination that is not on the list while the request is held (the owner's approval card);
   * without it such a request is refused at once.
   */
  /** Ask the owner about a host not on the list; `asked: false` when no card was shown (never ask, no owner). */
  ask?: (req: { host: string; port: number; method: string; path?: string }) => Promise<{ allowed: boolean; reason: string; asked?: boolean }>;
  /** Told every decision, as logged (the owner's console shows them). */
  /** `asked`: the owner was asked about it (a card), so they know already. */
  onDecision?: (d: { host: string; port: number; method: string; allowed: boolean; reason?: string; asked?: boolean }) => void;
  /** Secret substitution (tls-intercept.ts): takes allowed CONNECTs to hosts with a granted secret. */
  intercept?: Interceptor;
}

type Decision = { ok: true; ip: string } | { ok: false; status: number; reason: string };

const CONNECT_TIMEOUT_MS = 10_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);
const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

const explain = (target: string, reason: string) =>
  `Carapace egress policy: ${target} is blocked (${reason}). This chat's agent can only reach the web sites on its ` +
  `allowed list; the owner can change that list from the main chat.\n`;

/** What every handler of one proxy shares. */
interface ProxyState {
  opts: EgressProxyOptions;
  lookup: Lookup;
  privateAllow: Set<string>;
  /** Open CONNECT tunnels, torn down when the proxy closes. */
  tunnels: Set<Socket>;
}

/** Is `rawHost:port` allowed, and at which checked address? Every denial is logged. */
async function decide(state: ProxyState, rawHost: string, port: number, method: string, path?: string): Promise<Decision> {
  const { opts, lookup, privateAllow } = state;
  const host = normalizeHost(rawHost);
  const deny = (status: number, reason: string, asked = false): Decision => {
    opts.log.warn({ host, port, method, reason }, 'egress denied');
    opts.onDecision?.({ host, port, method, allowed: false, reason, asked });
    return { ok: false, status, reason };
  };
  let approval: string | undefined;
  if (!allows(opts.rules(), host, port)) {
    const unlisted = `${host}:${port} is not on this chat's allowed list`;
    const asked = await opts.ask?.({ host, port, method, path });
    if (!asked?.allowed) return deny(403, asked ? `${unlisted}; ${asked.reason}` : unlisted, asked !== undefined && asked.asked !== false);
    approval = asked.reason;
  }
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host)).map((a) => a.address);
  } catch (err) {
    return deny(502, `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const usable = addresses.filter((ip) => !forbiddenReason(ip) || privateAllow.has(`${ip}:${port}`));
  if (usable.length === 0) {
    const ip = addresses[0];
    return deny(403, ip ? `${host} resolves to ${ip}, a ${forbiddenReason(ip)}` : `${host} has no address`);
  }
  opts.log.info({ host, port, method, ip: usable[0], approval }, 'egress allowed');
  opts.onDecision?.({ host, port, method, allowed: true, reason: approval });
  return { ok: true, ip: usable[0] };
}

function refuseTunnel(socket: Duplex, status: number, reason: string, target: string): void {
  const body = explain(target, reason);
  const text = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\nx-carapace-egress: denied\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** HTTPS: a CONNECT tunnel to the checked address. */
async function onConnect(state: ProxyState, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  client.on('error', () => undefined);
  const target = req.url ?? '';
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(target);
  if (!m) return refuseTunnel(client, 400, 'CONNECT needs host:port', target);
  const decision = await decide(state, m[1], Number(m[2]), 'CONNECT');
  if (!decision.ok) return refuseTunnel(client, decision.status, decision.reason, target);
  const intercept = state.opts.intercept;
  const host = normalizeHost(m[1]);
  if (intercept?.wants(host, Number(m[2]))) return intercept.take(client, head, { host, port: Number(m[2]), ip: decision.ip });
  const upstream = connect({ host: decision.ip, port: Number(m[2]), timeout: CONNECT_TIMEOUT_MS });
  state.tunnels.add(upstream);
  upstream.once('connect', () => {
    upstream.setTimeout(0);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client).pipe(upstream);
  });
  const fail = (why: string) => {
    if (upstream.connecting) refuseTunnel(client, 502, why, target);
    else client.destroy();
    upstream.destroy();
  };
  upstream.once('timeout', () => fail('the site did not answer in time'));
  upstream.on('error', (err: NodeJS.ErrnoException) => fail(`connection failed: ${err.code ?? err.message}`));
  upstream.once('close', () => {
    state.tunnels.delete(upstream);
    client.destroy();
  });
  client.once('close', () => upstream.destroy());
}

/** Plain HTTP: an absolute-URL request, forwarded to the checked address. */
async function onRequest(state: ProxyState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refuse = (status: number, reason: string, target: string) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-carapace-egress': 'denied', connection: 'close' });
    res.end(explain(target, reason));
  };
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    return refuse(400, 'send requests through this proxy with an absolute http:// URL', req.url ?? '');
  }
  if (url.protocol !== 'http:') return refuse(400, 'use CONNECT for https', url.href);
  const port = Number(url.port || 80);
  const decision = await decide(state, url.hostname, port, req.method ?? 'GET', url.pathname);
  if (!decision.ok) return refuse(decision.status, decision.reason, url.host);
  const leak = state.opts.intercept?.plainLeak(normalizeHost(url.hostname), port, req);
  if (leak) return refuse(403, leak, url.host);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  headers.host = url.host;
  const up = httpRequest({ host: decision.ip, port, method: req.method, path: url.pathname + url.search, headers, timeout: CONNECT_TIMEOUT_MS }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    upRes.pipe(res);
  });
  up.on('timeout', () => up.destroy(new Error('the site did not answer in time')));
  up.on('error', (err: NodeJS.ErrnoException) => refuse(502, `request failed: ${err.code ?? err.message}`, url.host));
  res.on('close', () => up.destroy());
  req.pipe(up);
}

/**
 * The sandbox's only way onto the web: an HTTP proxy (CONNECT for HTTPS, absolute-URL requests for plain HTTP)
 * on a Unix socket mounted into the sandbox. A destination must be on the group's list, is resolved here on the
 * host, and the connection goes to the address that was checked, so DNS rebinding cannot redirect it to the
 * host, the LAN or a metadata service.
 */
export async function startEgressProxy(opts: EgressProxyOptions): Promise<{ close(): Promise<void> }> {
  const state: ProxyState = { opts, lookup: opts.lookup ?? defaultLookup, privateAllow: new Set(opts.privateAllow ?? []), tunnels: new Set() };
  const server = createServer((req, res) => void onRequest(state, req, res));
  server.on('connect', (req, socket, head) => void onConnect(state, req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.maxConnections = opts.maxConnections ?? 128;
  return listenForSandbox(server, opts.socketPath, () => {
    opts.intercept?.close();
    for (const t of state.tunnels) t.destroy();
  });
}
