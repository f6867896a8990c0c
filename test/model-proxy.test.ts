// The model proxy on its own, in front of the fake Anthropic API and small custom upstreams: credential
// injection (API key, OAuth, custom base URL), metering without changing a byte, route limits and the budget gate.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { callEstimate, startModelProxy, type ModelProxyOptions } from '../src/boundary/model-proxy.js';
import { SseUsageParser, type MeteredUsage } from '../src/boundary/usage-meter.js';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.js';
import { until } from './support/wait.js';

const TOKEN = 'run-token-abc';
const log = pino({ level: 'silent' });
let dir: string;
let fake: FakeAnthropic;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carapace-mp-'));
  fake = await startFakeAnthropic({
    script: (req) => (req.lastUserText === 'tool please' ? { content: [text('Let me look.'), toolUse('Bash', { command: 'ls' })] } : { content: [text('x'.repeat(400))] }),
  });
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

async function proxy(opts: Partial<ModelProxyOptions> = {}) {
  const socketPath = join(dir, `p${++n}.sock`);
  const usage: MeteredUsage[] = [];
  const p = await startModelProxy({
    socketPath,
    token: TOKEN,
    upstreamUrl: fake.url,
    credentials: { apiKey: 'sk-real' },
    log,
    reserve: () => ({ ok: true, ticket: { settle: (u) => void usage.push({ ...u }), release: () => undefined } }),
    ...opts,
  });
  return { socketPath, usage, close: p.close };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
function call(target: { socketPath?: string; port?: number }, path: string, body?: unknown, headers: Record<string, string> = {}, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, host: '127.0.0.1', path, method, headers: { 'content-type': 'application/json', 'x-api-key': TOKEN, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
const messages = (content: string, stream = true) => ({ model: 'claude-test', max_tokens: 100, stream, tools: [{ name: 't' }], messages: [{ role: 'user', content }] });

/** Usage as the SSE stream itself reports it (what the client would compute). */
function usageIn(sse: Buffer): MeteredUsage {
  const p = new SseUsageParser();
  p.push(sse);
  return p.usage;
}

describe('model proxy', () => {
  it('estimates a call from its max_tokens, model and size; over 1 MB it assumes the most instead of parsing', () => {
    const small = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 }));
    const input = Math.ceil(small.length / 4);
    expect(callEstimate(small)).toEqual({ tokens: 1000 + input, inputTokens: input, maxTokens: 1000, model: 'claude-sonnet-4-5' });
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(2 * 1024 * 1024) } };
    const big = Buffer.from(JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: [image] }], max_tokens: 5 }));
    const parse = vi.spyOn(JSON, 'parse');
    const estimate = callEstimate(big);
    expect(parse).not.toHaveBeenCalled(); // ~3 ms of the host's event loop per MB, at an agent's will
    parse.mockRestore();
    const bigInput = Math.ceil(big.length / 4);
    expect(estimate).toEqual({ tokens: 128_000 + bigInput, inputTokens: bigInput, maxTokens: 128_000 }); // priced at the dearest model
  });

  it('reads usage from SSE split anywhere, with CRLF line ends and unnamed events', () => {
    const stream =
      'event: message_start\r\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":12,"output_tokens":1,"cache_creation_input_tokens":5}}}\r\n\r\n' +
      'event: content_block_delta\r\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"h\u00e9"}}\r\n\r\n' +
      ': a comment\r\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\r\n\r\n';
    const p = new SseUsageParser();
    for (const byte of Buffer.from(stream)) p.push(Buffer.from([byte]));
    expect(p.usage).toEqual({ inputTokens: 12, outputTokens: 7, cacheCreationInputTokens: 5, cacheReadInputTokens: 0, model: 'm' });
  });

  it('skips text deltas and an oversized event unparsed, and still reads the usage around them', () => {
    const delta = (t: string) => `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"${t}"}}\n\n`;
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":3,"output_tokens":1}}}\n\n';
    const huge = `event: content_block_delta\ndata: {"text":"${'x'.repeat(2 * 1024 * 1024)}"}\n\n`;
    const end = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\n';
    const stream = Buffer.from(start + delta('message_ in the text') + delta('a').repeat(500) + huge + delta('b') + end);
    const p = new SseUsageParser();
    for (let at = 0; at < stream.length; at += 65_536) p.push(stream.subarray(at, at + 65_536));
    expect(p.usage).toEqual({ inputTokens: 3, outputTokens: 9, cacheCreationInputTokens: 0, cacheReadInputTokens: 0, model: 'm' });
  });

  /** A call through the proxy to an upstream that answers with `answer`; what the client saw, and the usage metered. */
  async function callUpstream(answer: (res: ServerResponse) => void, onResponse?: (res: IncomingMessage) => Promise<void>) {
    const upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      answer(res);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const p = await proxy({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
    const seen = await new Promise<{ body: Buffer; error?: string }>((resolve) => {
      const chunks: Buffer[] = [];
      const req = request({ socketPath: p.socketPath, path: '/v1/messages', method: 'POST', headers: { 'x-api-key': TOKEN } }, (res) => {
        void (onResponse?.(res) ?? Promise.resolve()).then(() => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve({ body: Buffer.concat(chunks), error: err.message }));
          res.on('end', () => resolve({ body: Buffer.concat(chunks) }));
        });
      });
      req.end(JSON.stringify(messages('hi')));
    });
    await until(() => p.usage.length === 1);
    await p.close();
    upstream.close();
    return { ...seen, usage: p.usage[0] };
  }
  const startEvent = 'event: message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":4,"output_tokens":1}}}\n\n';
  const deltaEvent = 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"0123456789abcdef"}}\n\n';
  const endEvent = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":99}}\n\n';

  it('an upstream cut mid-stream: the client gets what arrived and then sees the cut; what arrived is metered', async () => {
    const later = await callUpstream((res) => {
      res.write(startEvent);
      setTimeout(() => res.socket!.destroy(), 50);
    });
    expect(later).toMatchObject({ body: Buffer.from(startEvent), error: 'aborted', usage: { inputTokens: 4, outputTokens: 1 } });
    // Cut right behind a burst of events, one HTTP chunk each: all of them reach the client and the meter first.
    const burst = startEvent + deltaEvent.repeat(3000);
    const atOnce = await callUpstream((res) => res.write(burst, () => res.socket!.destroy()));
    expect(atOnce.error).toBe('aborted');
    expect(atOnce.body.toString()).toBe(burst);
    expect(atOnce.usage).toMatchObject({ inputTokens: 4, outputTokens: 1 });
  });

  it('holds upstream back while the client does not read, then forwards and meters every byte', async () => {
    const deltas = Buffer.from(deltaEvent.repeat(500));
    const total = 32 * 1024 * 1024;
    let written = 0;
    let stalledSince: number | undefined;
    let writtenWhilePaused = 0;
    const writeOn = (res: ServerResponse) => {
      stalledSince = undefined;
      while (written < total) {
        written += deltas.length;
        if (!res.write(deltas)) {
          stalledSince = Date.now();
          return void res.once('drain', () => writeOn(res));
        }
      }
      res.end(endEvent);
    };
    const seen = await callUpstream(
      (res) => {
        res.write(startEvent);
        writeOn(res);
      },
      async (res) => {
        res.pause();
        // Upstream stalls (its socket full) long before the whole stream is written: the proxy stopped reading.
        await until(() => (stalledSince !== undefined && Date.now() - stalledSince > 300) || written >= total);
        writtenWhilePaused = written;
        res.resume();
      },
    );
    expect(writtenWhilePaused).toBeLessThan(total / 2);
    expect(seen.error).toBeUndefined();
    expect(seen.body.length).toBe(startEvent.length + written + endEvent.length);
    expect(seen.usage).toMatchObject({ inputTokens: 4, outputTokens: 99 });
  });

  it('passes the streamed response through byte for byte and records its usage', async () => {
    const p = await proxy();
    const viaProxy = await call({ socketPath: p.socketPath }, '/v1/messages?beta=true', messages('tool please'));
    const direct = await call({ port: fake.port }, '/v1/messages?beta=true', messages('tool please'));
    await p.close();
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.headers['content-type']).toBe('text/event-stream');
    // Same script, same input: only the generated ids differ between the two answers.
    const ids = (b: Buffer) => b.toString().replace(/"(msg_|toolu_)[0-9a-z]+"/g, '"$1ID"');
    expect(ids(viaProxy.body)).toBe(ids(direct.body));
    const expected = usageIn(viaProxy.body);
    expect(expected.inputTokens).toBeGreaterThan(10);
    expect(expected.outputTokens).toBeGreaterThan(1); // message_delta's final count replaced message_start's 1
    expect(p.usage).toEqual([{ ...expected, model: 'claude-test' }]);
    const seen = fake.requests.at(-2)!; // the proxied call (the direct one came after it)
    expect(seen.headers['x-api-key']).toBe('sk-real');
    expect(seen.headers['accept-encoding']).toBe('identity');
  });

  it('records the usage of a non-streamed answer too', async () => {
    const p = await proxy();
    const res = await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi', false));
    await p.close();
    const body = JSON.parse(res.body.toString());
    expect(p.usage).toEqual([
      { inputTokens: body.usage.input_tokens, outputTokens: body.usage.output_tokens, cacheCreationInputTokens: 0, cacheReadInputTokens: 0, model: 'claude-test' },
    ]);
  });

  it('with an OAuth token, sends it as a bearer token and accepts the run token the same way', async () => {
    const p = await proxy({ credentials: { oauthToken: 'oauth-real' } });
    const res = await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi'), { 'x-api-key': '', authorization: `Bearer ${TOKEN}` });
    await p.close();
    expect(res.status).toBe(200);
    const seen = fake.requests.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer oauth-real');
    expect(seen.headers['x-api-key']).toBeUndefined();
  });

  it('forwards to a custom upstream under its base path, and meters a gzip-encoded stream it cannot avoid', async () => {
    const sse = Buffer.from(
      'event: message_start\ndata: {"type":"message_start","message":{"model":"other-llm","usage":{"input_tokens":7,"output_tokens":1,"cache_read_input_tokens":3}}}\n\n' +
        'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":42}}\n\n',
    );
    const seen: { path?: string; key?: string } = {};
    const upstream: Server = createServer((req, res) => {
      seen.path = req.url;
      seen.key = String(req.headers['x-api-key']);
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync(sse));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const p = await proxy({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/compat/anthropic/` });
    const res = await call({ socketPath: p.socketPath }, '/v1/messages?beta=true', messages('hi'));
    await p.close();
    upstream.close();
    expect(seen).toEqual({ path: '/compat/anthropic/v1/messages?beta=true', key: 'sk-real' });
    expect(res.body).toEqual(gzipSync(sse)); // untouched: still gzip for the client
    // Decompressing the copy finishes a moment after the client got its bytes.
    await until(() => p.usage.length > 0);
    expect(p.usage).toEqual([{ inputTokens: 7, outputTokens: 42, cacheCreationInputTokens: 0, cacheReadInputTokens: 3, model: 'other-llm' }]);
  });

  it('a compressed stream it cannot decode still reaches the client untouched; the call is released, nothing crashes', async () => {
    const garbage = Buffer.from('definitely not gzip '.repeat(2000));
    const released: number[] = [];
    const upstream: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.write(garbage.subarray(0, 100)); // the decoder fails on these, more chunks follow
      setTimeout(() => res.end(garbage.subarray(100)), 20);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const p = await proxy({
      upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      reserve: () => ({ ok: true, ticket: { settle: () => released.push(0), release: () => released.push(1) } }),
    });
    const res = await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi'));
    await until(() => released.length > 0);
    await p.close();
    upstream.close();
    expect(res.body).toEqual(garbage);
    expect(released).toEqual([1]);
  });

  it('refuses a wrong token, and anything but model calls even with the right one', async () => {
    const p = await proxy();
    const before = fake.requests.length;
    expect((await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi'), { 'x-api-key': 'sk-guess' })).status).toBe(401);
    const files = await call({ socketPath: p.socketPath }, '/v1/files', {});
    expect(files.status).toBe(403);
    expect(JSON.parse(files.body.toString()).error.message).toMatch(/only forwards model calls, not POST "\/v1\/files"/);
    expect((await call({ socketPath: p.socketPath }, '/v1/messages/batches', {})).status).toBe(403);
    expect((await call({ socketPath: p.socketPath }, '/v1/organizations/me', undefined, {}, 'GET')).status).toBe(403);
    expect((await call({ socketPath: p.socketPath }, '/v1/models', undefined, {}, 'GET')).status).toBe(403);
    expect((await call({ socketPath: p.socketPath }, '/v1/messages/count_tokens', messages('hi'))).status).toBe(200);
    await p.close();
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual(['/v1/messages/count_tokens']);
  });

  it('answers a refused call (spent budget) with an API error the SDK surfaces, without calling upstream', async () => {
    const p = await proxy({ reserve: () => ({ ok: false, message: 'budget spent for today' }) });
    const before = fake.requests.length;
    const res = await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi'));
    await p.close();
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toEqual({ type: 'error', error: { type: 'permission_error', message: 'budget spent for today' } });
    expect(fake.requests.length).toBe(before);
    expect(p.usage).toEqual([]);
  });
  it('holds a call until notBefore (a task fed ahead of its due time), and drops it if the sandbox hangs up meanwhile', async () => {
    let released = 0;
    const notBefore = Date.now() + 400;
    const p = await proxy({ notBefore: () => notBefore, reserve: () => ({ ok: true, ticket: { settle: () => undefined, release: () => void released++ } }) });
    const before = fake.requests.length;
    const res = await call({ socketPath: p.socketPath }, '/v1/messages', messages('hi', false));
    expect(res.status).toBe(200);
    expect(fake.requests.length).toBe(before + 1);
    expect(fake.requests.at(-1)!.receivedAtEpochMs).toBeGreaterThanOrEqual(notBefore);

    // A call on hold whose client goes away: nothing reaches the upstream and its reservation is released.
    const late = Date.now() + 400;
    const q = await proxy({ notBefore: () => late, reserve: () => ({ ok: true, ticket: { settle: () => undefined, release: () => void released++ } }) });
    await p.close();
    const dropped = request({ socketPath: q.socketPath, path: '/v1/messages', method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TOKEN } });
    dropped.on('error', () => undefined);
    dropped.end(JSON.stringify(messages('hi', false)));
    await new Promise((r) => setTimeout(r, 100));
    dropped.destroy();
    await until(() => released === 1, 2000);
    await new Promise((r) => setTimeout(r, Math.max(0, late - Date.now()) + 100));
    await q.close();
    expect(fake.requests.length).toBe(before + 1);
    expect(released).toBe(1);
  });
});
