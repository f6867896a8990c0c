// The egress proxy on its own: domain rules, forbidden addresses, and the real proxy on a Unix socket driven
// with raw HTTP (CONNECT and absolute-URL requests) against local servers.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allows, forbiddenReason, parseAllowlist, parseDomainRule, type DomainRule } from '../src/boundary/egress-policy.js';
import { startEgressProxy, type Lookup } from '../src/boundary/egress-proxy.js';

describe('domain rules', () => {
  it('parses host names, wildcards, ports and IP literals', () => {
    expect(parseDomainRule('Example.COM')).toEqual({ host: 'example.com', wildcard: false, port: undefined });
    expect(parseDomainRule('*.wikipedia.org')).toEqual({ host: 'wikipedia.org', wildcard: true, port: undefined });
    expect(parseDomainRule('api.example.com:8443')).toEqual({ host: 'api.example.com', wildcard: false, port: 8443 });
    expect(parseDomainRule('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', wildcard: false, port: 443 });
    expect(parseDomainRule('203.0.113.9')).toEqual({ host: '203.0.113.9', wildcard: false, port: undefined });
  });

  it('rejects entries that are not a host', () => {
    for (const bad of ['', '*', '*.com.', 'http://example.com', 'example.com/path', 'a..b', '-x.com', 'x.com:0', 'x.com:70000', '*.1.2.3.4'])
      expect(() => parseDomainRule(bad), bad).toThrow(/invalid allowed domain/);
  });

  it('matches exact hosts, subdomains of wildcards only, and default ports unless a port is given', () => {
    const rules = parseAllowlist(['example.com', '*.wikipedia.org', 'api.dev.test:8443']);
    expect(allows(rules, 'example.com', 443)).toBe(true);
    expect(allows(rules, 'EXAMPLE.com.', 80)).toBe(true);
    expect(allows(rules, 'www.example.com', 443)).toBe(false);
    expect(allows(rules, 'example.com', 22)).toBe(false);
    expect(allows(rules, 'en.wikipedia.org', 443)).toBe(true);
    expect(allows(rules, 'wikipedia.org', 443)).toBe(false);
    expect(allows(rules, 'evilwikipedia.org', 443)).toBe(false);
    expect(allows(rules, 'api.dev.test', 8443)).toBe(true);
    expect(allows(rules, 'api.dev.test', 443)).toBe(false);
    expect(allows([], 'example.com', 443)).toBe(false);
  });
});

describe('forbidden addresses', () => {
  it('names loopback, private, link-local and metadata destinations, in every spelling', () => {
    const cases: [string, RegExp][] = [
      ['127.0.0.1', /loopback/], ['127.8.9.10', /loopback/], ['0.0.0.0', /loopback/], ['::1', /loopback/],
      ['10.1.2.3', /private/], ['172.20.0.1', /private/], ['192.168.1.1', /private/], ['100.100.100.200', /private/],
      ['169.254.169.254', /metadata/], ['fe80::1', /link-local/], ['fd00:ec2::254', /private/],
      ['::ffff:127.0.0.1', /loopback/], ['::ffff:7f00:1', /loopback/], ['::ffff:a9fe:a9fe', /metadata/], ['::127.0.0.1', /loopback/],
      ['224.0.0.1', /reserved/], ['255.255.255.255', /reserved/],
    ];
    for (const [ip, reason] of cases) expect(forbiddenReason(ip), ip).toMatch(reason);
  });

  it('lets public addresses through', () => {
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(forbiddenReason(ip), ip).toBeUndefined();
  });
});

/** Send raw bytes to the proxy socket; resolves with everything it answered until it closed (or the cutoff). */
function raw(socketPath: string, text: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    let got = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got);
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (d) => {
      got += d;
      if (got.includes('ECHO-END')) done();
    });
    s.on('close', done);
    s.on('error', done);
    s.write(text);
  });
}

describe('egress proxy', () => {
  let dir: string;
  let socket: string;
  let web: Server;
  let webPort: number;
  let echoPort: number;
  const echo = createTcpServer((c) => c.on('data', (d) => c.end(`echo:${d}ECHO-END`)));
  const logs: any[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  let rules: DomainRule[] = [];
  const lookups: string[] = [];
  // A resolver we control: names in the test's pretend DNS.
  const dns: Record<string, string[]> = {};
  const lookup: Lookup = async (host) => {
    lookups.push(host);
    const addrs = dns[host];
    if (!addrs) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carapace-egress-'));
    socket = join(dir, 'egress.sock');
    web = createServer((req, res) => res.end(`web saw ${req.method} ${req.url} host=${req.headers.host} proxyauth=${req.headers['proxy-authorization'] ?? '-'}`));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webPort = (web.address() as AddressInfo).port;
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as AddressInfo).port;
    ({ close } = await startEgressProxy({
      socketPath: socket,
      rules: () => rules,
      // Only these two local services count as deliberately exposed LAN services.
      privateAllow: [`127.0.0.1:${webPort}`, `127.0.0.1:${echoPort}`],
      lookup,
      log,
    }));
  });
  afterAll(async () => {
    await close();
    web.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ socketPath: socket, path: url, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  it('forwards a plain HTTP request to an allowed host, resolved on the host, without proxy credentials', async () => {
    rules = parseAllowlist([`lan.example:${webPort}`]);
    dns['lan.example'] = ['127.0.0.1'];
    const res = await get(`http://lan.example:${webPort}/page?q=1`, { 'proxy-authorization': 'Basic c2VjcmV0' });
    expect(res.status).toBe(200);
    expect(res.body).toBe(`web saw GET /page?q=1 host=lan.example:${webPort} proxyauth=-`);
    expect(logs.some((l) => l.msg === 'egress allowed' && l.host === 'lan.example' && l.ip === '127.0.0.1')).toBe(true);
  });

  it('opens a CONNECT tunnel to an allowed host and carries bytes both ways', async () => {
    rules = parseAllowlist([`tunnel.example:${echoPort}`]);
    dns['tunnel.example'] = ['127.0.0.1'];
    const answer = await raw(socket, `CONNECT tunnel.example:${echoPort} HTTP/1.1\r\nHost: tunnel.example:${echoPort}\r\n\r\nhello`);
    expect(answer).toBe('HTTP/1.1 200 Connection Established\r\n\r\necho:helloECHO-END');
  });

  it('refuses a host that is not on the list with 403, a clear body, and a log line naming the host', async () => {
    rules = parseAllowlist(['example.com']);
    const before = lookups.length;
    const tunnel = await raw(socket, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
    expect(tunnel).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(tunnel).toContain("evil.example:443 is not on this chat's allowed list");
    const plain = await get('http://evil.example/');
    expect(plain.status).toBe(403);
    expect(plain.headers['x-carapace-egress']).toBe('denied');
    expect(lookups.length).toBe(before); // a denied name is never even resolved
    expect(logs.filter((l) => l.msg === 'egress denied' && l.host === 'evil.example').length).toBe(2);
  });

  it('refuses other ports than 80/443 unless the rule names the port', async () => {
    rules = parseAllowlist(['example.com']);
    expect(await raw(socket, 'CONNECT example.com:22 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403/);
  });

  it('refuses an allowed name that resolves to loopback, a private or a metadata address', async () => {
    rules = parseAllowlist(['sneaky.example', 'meta.example', 'lan.example']);
    dns['sneaky.example'] = ['127.0.0.1'];
    dns['meta.example'] = ['169.254.169.254'];
    dns['lan.example'] = ['192.168.1.10'];
    expect(await raw(socket, 'CONNECT sneaky.example:443 HTTP/1.1\r\n\r\n')).toContain('sneaky.example resolves to 127.0.0.1, a loopback');
    expect((await get('http://meta.example/latest/meta-data/')).body).toContain('169.254.169.254, a link-local (cloud metadata)');
    expect(await raw(socket, 'CONNECT lan.example:443 HTTP/1.1\r\n\r\n')).toContain('192.168.1.10, a private or reserved address');
    expect(logs.some((l) => l.msg === 'egress denied' && l.host === 'meta.example' && /metadata/.test(l.reason))).toBe(true);
  });

  it('refuses IP literals of the host even when listed, and an exempt address only on its exempt port', async () => {
    rules = parseAllowlist(['127.0.0.1', `127.0.0.1:${webPort + 1}`]);
    expect(await raw(socket, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n')).toContain('127.0.0.1 resolves to 127.0.0.1, a loopback');
    expect(await raw(socket, `CONNECT 127.0.0.1:${webPort + 1} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1.1 403/);
    rules = parseAllowlist(['[::1]']);
    expect(await raw(socket, 'CONNECT [::1]:443 HTTP/1.1\r\n\r\n')).toContain('a loopback');
  });

  it('resolves once and connects to the address it checked (no second lookup to rebind)', async () => {
    rules = parseAllowlist([`rebind.example:${webPort}`]);
    let calls = 0;
    dns['rebind.example'] = ['127.0.0.1'];
    const counting = lookups.length;
    const res = await get(`http://rebind.example:${webPort}/`);
    calls = lookups.filter((h, i) => i >= counting && h === 'rebind.example').length;
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('skips forbidden addresses among a name’s records and uses a permitted one', async () => {
    rules = parseAllowlist([`mixed.example:${webPort}`]);
    dns['mixed.example'] = ['10.0.0.5', '127.0.0.1'];
    const res = await get(`http://mixed.example:${webPort}/x`);
    expect(res.status).toBe(200);
    expect(logs.some((l) => l.msg === 'egress allowed' && l.host === 'mixed.example' && l.ip === '127.0.0.1')).toBe(true);
  });

  it('answers malformed requests with 400 and unknown names with 502, and keeps serving', async () => {
    rules = parseAllowlist(['nowhere.example']);
    expect(await raw(socket, 'CONNECT nonsense HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect((await get('/relative/path')).status).toBe(400);
    expect(await raw(socket, 'CONNECT nowhere.example:443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 502[\s\S]*could not resolve nowhere.example: ENOTFOUND/);
    expect(await raw(socket, 'GARBAGE\r\n\r\n')).toBe('');
    rules = parseAllowlist([`lan.example:${webPort}`]);
    dns['lan.example'] = ['127.0.0.1'];
    expect((await get(`http://lan.example:${webPort}/still-up`)).status).toBe(200);
  });
});
