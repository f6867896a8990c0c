// Attacks on the model proxy itself, straight at its socket: request targets that try to climb out of the
// upstream's base path or reach endpoints other than the model, and parallel calls that try to overshoot the
// daily budget. Requests go over a raw socket so no client tidies the target first; the upstream records
// exactly what reached it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelProxy, type CallEstimate, type ModelProxyOptions } from '../../src/boundary/model-proxy.js';
import { loadConfig } from '../../src/config.js';
import { GroupPolicy } from '../../src/groups/group-policy.js';
import { openDatabase } from '../../src/store/db.js';
import { Store, totalTokens } from '../../src/store/store.js';
import { dechunk } from '../support/https-upstream.js';

const TOKEN = 'run-token-attack';
let dir: string;
let upstream: Server;
let base: string;
/** Raw request targets as the upstream received them. */
const received: string[] = [];
let n = 0;

const sse = (input: number, output: number) =>
  `event: message_start\ndata: {"type":"message_start","message":{"type":"message","model":"m","usage":{"input_tokens":${input},"output_tokens":1}}}\n\n` +
  `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}\n\n` +
  `event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":${output}}}\n\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carapace-mpa-'));
  // Answers every call after `delay` ms with input = ceil(body bytes / 4) and 10 output tokens; /fail answers 500.
  upstream = createServer((req, res) => {
    received.push(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const delay = Number(/"delay":(\d+)/.exec(body.toString())?.[1] ?? 0);
      setTimeout(() => {
        if (body.includes('"fail"')) return res.writeHead(500, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"api_error","message":"boom"}}');
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(sse(Math.ceil(body.length / 4), 10));
      }, delay);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/anthropic`;
});
afterAll(() => {
  upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

async function proxy(opts: Partial<ModelProxyOptions> = {}) {
  const socketPath = join(dir, `p${++n}.sock`);
  const lines: any[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const p = await startModelProxy({ socketPath, token: TOKEN, upstreamUrl: base, credentials: { apiKey: 'sk-real' }, log, ...opts });
  return { socketPath, lines, close: p.close };
}

interface RawAnswer {
  status: number;
  body: string;
}
/** One request written byte for byte onto the socket: the target is exactly what the attacker chose. */
function raw(socketPath: string, method: string, target: string, body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      let body = text.slice(split + 4);
      if (/^transfer-encoding: chunked$/im.test(head)) body = dechunk(body);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
    // Written, not ended: like a real client it keeps its side open until the answer (`connection: close`) ends it.
    socket.write(
      `${method} ${target} HTTP/1.1\r\nhost: proxy\r\nx-api-key: ${TOKEN}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
const call = (maxTokens: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'm', max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('attack: request targets that leave the upstream base path', () => {
  const tricks: [string, string, string][] = [
    ['dot segments before the route', 'POST', '/../v1/messages'],
    ['dot segments after the route', 'POST', '/v1/messages/../../admin'],
    ['percent-encoded dot segments', 'POST', '/v1/messages/%2e%2e/%2E%2E/admin'],
    ['percent-encoded dots before the route', 'POST', '/%2e%2e/v1/messages'],
    ['double slash (empty segment)', 'POST', '//v1/messages'],
    ['double slash inside the route', 'POST', '/v1//messages'],
    ['backslash as a separator', 'POST', '/v1/messages\\..\\..\\admin'],
    ['percent-encoded slash', 'POST', '/v1%2fmessages'],
    ['absolute-form target to another host', 'POST', 'http://evil.example/v1/messages'],
    ['path hidden in the query', 'POST', '/v1/messages?x=/../../admin'],
    ['dot-dot after count_tokens', 'POST', '/v1/messages/count_tokens/..'],
  ];

  it.each(tricks)('%s (%s %s) is refused, logged, and never reaches upstream', async (_name, method, target) => {
    const p = await proxy();
    const before = received.length;
    const res = await raw(p.socketPath, method, target, method === 'POST' ? call(10) : '');
    await p.close();
    expect(received.slice(before)).toEqual([]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: `Carapace's model proxy only forwards model calls, not ${method} ${JSON.stringify(target)}` },
    });
    expect(p.lines.filter((l) => l.msg === 'model proxy: route not allowed')).toEqual([expect.objectContaining({ method, target })]);
  });

  it('the allowed routes reach upstream under its base path exactly as checked, query kept', async () => {
    const p = await proxy();
    const before = received.length;
    expect((await raw(p.socketPath, 'POST', '/v1/messages?beta=true', call(10))).status).toBe(200);
    expect((await raw(p.socketPath, 'POST', '/v1/messages/count_tokens?beta=true', call(10))).status).toBe(200);
    await p.close();
    expect(received.slice(before)).toEqual(['/anthropic/v1/messages?beta=true', '/anthropic/v1/messages/count_tokens?beta=true']);
  });
});

describe('attack: endpoints other than the model', () => {
  it.each([
    ['POST', '/v1/files'],
    ['POST', '/v1/messages/batches'],
    ['GET', '/v1/messages/batches/msgbatch_1/results'],
    ['GET', '/v1/messages'],
    ['GET', '/v1/models'],
    ['PUT', '/v1/messages'],
    ['GET', '/v1/organizations/me'],
    ['POST', '/api/oauth/claude_cli/create_api_key'],
  ])('%s %s is refused with the run token and never reaches upstream', async (method, target) => {
    const p = await proxy();
    const before = received.length;
    const res = await raw(p.socketPath, method, target, method === 'POST' ? '{}' : '');
    await p.close();
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.type).toBe('permission_error');
    expect(received.slice(before)).toEqual([]);
  });
});

/** A group with a daily budget, and a `reserve` for the proxy that also tracks the worst moment: used + reserved. */
function setup(budget: number) {
  const store = new Store(openDatabase(':memory:'));
  const log = pino({ level: 'silent' });
  const config = loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_TZ: 'UTC', HOME: '/nonexistent-home' });
  const policy = new GroupPolicy({ store, config, log, protectedPaths: [], projectDir: '/nonexistent-project' });
  const group = store.registerGroup({ channel: 'local', chatId: 'local:g', name: 'G', folder: 'g', trigger: '@Andy', requiresTrigger: true, isMain: false });
  store.setContainerConfig(group.id, { dailyTokenBudget: budget });
  /** The worst moment seen: tokens recorded plus tokens reserved, checked on every reservation. */
  let peak = 0;
  const reserve = (estimate: () => CallEstimate) => {
    const verdict = policy.reserve(group.id, 'r1', estimate);
    const { used, reserved } = policy.budget(group.id);
    peak = Math.max(peak, used + reserved);
    return verdict;
  };
  const used = () => totalTokens(store.groupUsageSince(group.id, 0));
  return { policy, group, reserve, used, peak: () => peak };
}

describe('attack: parallel calls against a small daily budget', () => {
  it('twelve calls at once: only what fits is admitted, the rest get the budget error, and usage stays within the budget', async () => {
    const body = call(1000, { delay: 300 });
    const reservation = 1000 + Math.ceil(Buffer.byteLength(body) / 4);
    const budget = 3 * reservation + 100; // room for three calls in flight, not four
    const b = setup(budget);
    const p = await proxy({ reserve: b.reserve });
    const answers = await Promise.all(Array.from({ length: 12 }, () => raw(p.socketPath, 'POST', '/v1/messages?beta=true', body)));
    await p.close();
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(ok.length).toBe(3);
    for (const a of refused) {
      expect(a.status).toBe(403);
      expect(JSON.parse(a.body).error).toEqual({
        type: 'permission_error',
        message: expect.stringMatching(/^This chat has nearly used its daily model budget \([\d,]+ of [\d,]+ tokens, and the next model call could take up to [\d,]+\), so I can't answer until .*The owner can raise the budget\.$/),
      });
    }
    // Each admitted call cost its input (the body / 4) and 10 output tokens, and nothing stays reserved.
    expect(b.used()).toBe(3 * (Math.ceil(Buffer.byteLength(body) / 4) + 10));
    expect(b.policy.budget(b.group.id).reserved).toBe(0);
    expect(b.peak()).toBeLessThanOrEqual(budget);
  });

  it('calls in waves never take the recorded total past the budget', async () => {
    const body = call(200, { delay: 50 });
    const budget = 1_500; // six calls' reservations; each call then costs about a fifth of its reservation
    const b = setup(budget);
    const p = await proxy({ reserve: b.reserve });
    let admitted = 0;
    // Wave after wave until a call like the last no longer fits (then no new run would start either).
    for (let wave = 0; b.policy.admit(b.group.id).ok; wave++) {
      expect(wave).toBeLessThan(30);
      const answers = await Promise.all(Array.from({ length: 8 }, () => raw(p.socketPath, 'POST', '/v1/messages', body)));
      admitted += answers.filter((a) => a.status === 200).length;
      expect(b.used()).toBeLessThanOrEqual(budget);
    }
    await p.close();
    expect(admitted).toBeGreaterThan(8); // later waves still used what earlier ones left over
    expect(b.peak()).toBeLessThanOrEqual(budget);
    expect(b.used()).toBeGreaterThan(budget - 240); // what is left is less than one call's reservation
  });

  it('a failed call and a call the client abandons give their reservations back', async () => {
    const b = setup(100_000);
    const p = await proxy({ reserve: b.reserve });
    const failed = await raw(p.socketPath, 'POST', '/v1/messages', call(5000, { fail: true }));
    expect(failed.status).toBe(500);
    expect(b.policy.budget(b.group.id)).toMatchObject({ used: 0, reserved: 0 });
    // The client hangs up while upstream is still thinking: nothing was metered, the reservation is released.
    const socket = connect(p.socketPath);
    const body = call(5000, { delay: 400 });
    socket.write(`POST /v1/messages HTTP/1.1\r\nhost: p\r\nx-api-key: ${TOKEN}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    await new Promise((r) => setTimeout(r, 150));
    expect(b.policy.budget(b.group.id).reserved).toBeGreaterThan(5000);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 150));
    expect(b.policy.budget(b.group.id)).toMatchObject({ used: 0, reserved: 0 });
    await p.close();
  });
});
