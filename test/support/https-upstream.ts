// A local HTTPS "upstream" with its own test CA, standing in for api.github.com and friends: it serves any host
// name (a certificate per SNI name, signed by the test CA; 127.0.0.1 without SNI) and answers every request with a JSON echo of what
// reached it, so tests see exactly what the egress proxy forwarded. Only tests trust its CA
// (CARAPACE_EGRESS_UPSTREAM_CA / the interceptor's upstreamCa).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { loadInterceptCa } from '../../src/boundary/intercept-ca.js';

export interface Received {
  host: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpsUpstream {
  port: number;
  /** PEM of the test CA that signed its certificates. */
  caPem: string;
  /** The file holding caPem (for CARAPACE_EGRESS_UPSTREAM_CA). */
  caFile: string;
  received: Received[];
  close(): Promise<void>;
}

export async function startHttpsUpstream(): Promise<HttpsUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-upstream-ca-'));
  const ca = loadInterceptCa(dir, 'Carapace test upstream CA'); // a CA of its own: unrelated to any install's
  const received: Received[] = [];
  const server: Server = createServer(
    { ...ca.leaf('127.0.0.1'), SNICallback: (name, cb) => cb(null, createSecureContext(ca.leaf(name))) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { host: req.headers.host ?? '', method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
        received.push(r);
        // Under /gzip it compresses whatever the client asked for, as some servers do.
        const gzip = r.url.startsWith('/gzip');
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-authorization': String(req.headers.authorization ?? ''), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        res.end(gzip ? gzipSync(JSON.stringify(r)) : JSON.stringify(r));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    caPem: ca.certPem,
    caFile: join(dir, 'ca.pem'),
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

export interface ProxiedAnswer {
  status: number;
  head: string;
  body: string;
  /** Who issued the certificate the client was shown: the install's CA when intercepted. */
  issuer?: string;
}

/** A chunked body, decoded. */
export function dechunk(chunked: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const eol = chunked.indexOf('\r\n', at);
    const size = parseInt(chunked.slice(at, eol), 16);
    if (!size) return out;
    out += chunked.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/**
 * What a sandbox client does, on a fresh connection: CONNECT through the egress proxy's socket, TLS to `host`
 * trusting `ca`, one raw request (written exactly as given), the whole answer.
 */
export function requestViaProxy(socketPath: string, host: string, port: number, ca: string[], raw: (authority: string) => string): Promise<ProxiedAnswer> {
  const authority = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method: 'CONNECT', path: authority });
    req.on('connect', (res, sock: Socket) => {
      if (res.statusCode !== 200) return resolve({ status: res.statusCode ?? 0, head: '', body: '' });
      const tls = tlsConnect({ socket: sock, servername: isIP(host) ? undefined : host, ca }, () => tls.write(raw(authority)));
      let text = '';
      tls.on('data', (d) => (text += d));
      tls.on('error', reject);
      tls.on('end', () => {
        const [head, ...rest] = text.split('\r\n\r\n');
        const body = rest.join('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
        resolve({ status, head, body: /transfer-encoding: chunked/i.test(head) ? dechunk(body) : body, issuer: String(tls.getPeerCertificate().issuer?.CN) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
