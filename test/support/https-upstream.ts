// A local HTTPS "upstream" with its own test CA, standing in for api.github.com and friends: it serves any host
// name (a certificate per SNI name, signed by the test CA; 127.0.0.1 without SNI) and answers every request with a JSON echo of what
// reached it, so tests see exactly what the egress proxy forwarded. Only tests trust its CA
// (CARAPACE_EGRESS_UPSTREAM_CA / the interceptor's upstreamCa).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
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
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-authorization': String(req.headers.authorization ?? '') });
        res.end(JSON.stringify(r));
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
