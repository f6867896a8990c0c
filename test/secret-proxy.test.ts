// Secret substitution at the wire, on the real egress proxy over its Unix socket, against a local HTTPS
// upstream with its own test CA: the placeholder becomes the value only in its header, only for its host;
// anywhere else it is refused and reported; echoes are redacted; hosts without a secret tunnel untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../src/boundary/egress-policy.js';
import { startEgressProxy } from '../src/boundary/egress-proxy.js';
import { interceptCa } from '../src/boundary/intercept-ca.js';
import type { Secret } from '../src/boundary/secret-vault.js';
import { createInterceptor, type LeakReport } from '../src/boundary/tls-intercept.js';
import { requestViaProxy, startHttpsUpstream, type HttpsUpstream } from './support/https-upstream.js';

const VALUE = 'ghp_REALvalue0123456789abcdef';
const NOTION = 'secret_notionREAL987654321';
let up: HttpsUpstream;
let dir: string;
let caPem: string;
let bundle: string;
const leaks: LeakReport[] = [];
const proxies: { socket: string; close: () => Promise<void> }[] = [];

async function proxy(opts: { upstreamCa?: boolean; secrets?: Secret[] } = {}): Promise<string> {
  const port = up.port;
  const secrets = opts.secrets ?? [
    { name: 'github', host: `api.github.test:${port}`, header: 'authorization', format: 'Bearer {}', env: 'GITHUB_TOKEN', value: VALUE },
    { name: 'notion', host: `api.notion.test:${port}`, header: 'x-notion-key', format: '{}', env: 'NOTION_TOKEN', value: NOTION },
  ];
  const ca = interceptCa(join(dir, 'vault'));
  caPem = ca.certPem;
  bundle = ca.trustBundle;
  const socket = join(dir, `e${proxies.length}.sock`);
  const intercept = createInterceptor({ secrets: () => secrets, ca, upstreamCa: opts.upstreamCa === false ? undefined : up.caPem, log: pino({ level: 'silent' }), onLeak: (l) => void leaks.push(l) });
  const p = await startEgressProxy({
    socketPath: socket,
    rules: () => parseAllowlist([`api.github.test:${port}`, `api.notion.test:${port}`, `plain.test:${port}`, `elsewhere.test:${port}`]),
    privateAllow: [`127.0.0.1:${port}`],
    lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    log: pino({ level: 'silent' }),
    intercept,
  });
  proxies.push({ socket, close: p.close });
  return socket;
}

const viaProxy = (socket: string, host: string, raw: (authority: string) => string) => requestViaProxy(socket, host, up.port, [bundle, up.caPem], raw);

const get = (path: string, headers: string, body = '') => (authority: string) =>
  `POST ${path} HTTP/1.1\r\nhost: ${authority}\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;

beforeAll(async () => {
  up = await startHttpsUpstream();
  dir = mkdtempSync(join(tmpdir(), 'carapace-secret-proxy-'));
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('secret substitution at the egress proxy', () => {
  it('puts the value in the configured header for the secret’s host, over verified TLS, and redacts echoes', async () => {
    const socket = await proxy();
    const before = up.received.length;
    const a = await viaProxy(socket, 'api.github.test', get('/user', 'authorization: Bearer carapace:secret:github\r\n'));
    expect(a.status).toBe(200);
    expect(a.issuer).toBe('Carapace egress interception CA');
    expect(up.received.slice(before).map((r) => r.headers.authorization)).toEqual([`Bearer ${VALUE}`]);
    // The upstream echoed the value in a header and in the body: the client sees the placeholder instead.
    expect(a.head + a.body).not.toContain(VALUE);
    expect(a.head).toContain('x-echo-authorization: Bearer carapace:secret:github');
    expect(JSON.parse(a.body).headers.authorization).toBe('Bearer carapace:secret:github');
  });

  it('refuses and reports a placeholder sent to another secret host, in the URL or in another header', async () => {
    const socket = await proxy();
    const before = up.received.length;
    const cases: [string, string, ReturnType<typeof get>, RegExp][] = [
      ['another host', 'api.notion.test', get('/', 'authorization: Bearer carapace:secret:github\r\n'), /may only be sent to api\.github\.test/],
      ['the query', 'api.github.test', get('/search?q=carapace%3Asecret%3Agithub', ''), /in the URL/],
      ['another header', 'api.github.test', get('/', 'x-token: carapace:secret:github\r\n'), /only be sent in the authorization header/],
      ['an odd shape', 'api.github.test', get('/', 'authorization: token carapace:secret:github\r\n'), /must be "Bearer carapace:secret:github"/],
      ['an ungranted name', 'api.github.test', get('/', 'authorization: Bearer carapace:secret:aws\r\n'), /not a secret granted/],
    ];
    for (const [what, host, req, reason] of cases) {
      const leaksBefore = leaks.length;
      const a = await viaProxy(socket, host, req);
      expect(a.status, what).toBe(403);
      expect(a.body, what).toMatch(reason);
      expect(leaks.slice(leaksBefore).map((l) => l.reason).join(), what).toMatch(reason);
    }
    expect(up.received.length).toBe(before); // nothing reached the upstream
  });

  it('redacts an echo inside an answer compressed against its wishes', async () => {
    const socket = await proxy();
    const a = await viaProxy(socket, 'api.github.test', get('/gzip', 'authorization: Bearer carapace:secret:github\r\n'));
    expect(a.status).toBe(200);
    expect(up.received.at(-1)!.headers['accept-encoding']).toBe('identity');
    expect(a.head).not.toMatch(/content-encoding/i);
    expect(JSON.parse(a.body).headers.authorization).toBe('Bearer carapace:secret:github');
  });

  it('sends the secret only with the host it is for, whatever Host header the client claims', async () => {
    const socket = await proxy();
    const a = await viaProxy(socket, 'api.github.test', () => 'GET /user HTTP/1.1\r\nhost: evil.test\r\nauthorization: Bearer carapace:secret:github\r\nconnection: close\r\n\r\n');
    expect(a.status).toBe(200);
    expect(up.received.at(-1)!.host).toBe(`api.github.test:${up.port}`);
  });

  it('never substitutes a placeholder smuggled in the body', async () => {
    const socket = await proxy();
    const a = await viaProxy(socket, 'api.github.test', get('/gist', 'content-type: text/plain\r\n', 'token=carapace:secret:github'));
    expect(a.status).toBe(200);
    expect(up.received.at(-1)!.body).toBe('token=carapace:secret:github');
  });

  it('tunnels hosts without a granted secret untouched: their own certificate, nothing substituted', async () => {
    const socket = await proxy();
    const a = await viaProxy(socket, 'elsewhere.test', get('/', 'authorization: Bearer carapace:secret:github\r\n'));
    expect(a.status).toBe(200);
    expect(a.issuer).toBe('Carapace test upstream CA'); // the upstream's own certificate: no interception
    expect(up.received.at(-1)!.headers.authorization).toBe('Bearer carapace:secret:github');
  });

  it('refuses a placeholder over plain HTTP and a CONNECT to an unlisted host', async () => {
    const socket = await proxy();
    const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: socket, path: `http://plain.test:${up.port}/?t=carapace:secret:github` }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(plain.status).toBe(403);
    expect(plain.body).toMatch(/never sent over plain HTTP/);
    expect((await viaProxy(socket, 'unlisted.test', get('/', 'authorization: Bearer carapace:secret:github\r\n'))).status).toBe(403);
  });

  it('does not send the value to an upstream whose certificate it cannot verify', async () => {
    const socket = await proxy({ upstreamCa: false });
    const before = up.received.length;
    const a = await viaProxy(socket, 'api.github.test', get('/user', 'authorization: Bearer carapace:secret:github\r\n'));
    expect(a.status).toBe(502);
    expect(a.body).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i);
    expect(up.received.length).toBe(before);
  });

  it('keeps the CA key owner-only and the certificate public', async () => {
    await proxy();
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'vault', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'vault', 'ca.pem')).mode & 0o777).toBe(0o644);
    expect(caPem).toMatch(/BEGIN CERTIFICATE/);
  });
});
