// Proves test/support/fake-anthropic.ts drives the REAL Claude Agent SDK (and its bundled CLI) end to end.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { query, type SDKMessage, type SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { startFakeAnthropic, text, toScriptRequest, type FakeAnthropic, type Script } from './support/fake-anthropic.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(script?: Script): Promise<{ fake: FakeAnthropic; dir: string }> {
  const fake = await startFakeAnthropic({ script });
  const dir = await mkdtemp(path.join(tmpdir(), 'carapace-fake-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }), () => fake.close());
  return { fake, dir };
}

/** Runs one prompt through the real SDK against the fake; returns every message the host saw. */
async function run(fake: FakeAnthropic, dir: string, prompt: string, seen: SDKMessage[] = []): Promise<SDKMessage[]> {
  const q = query({
    prompt,
    options: {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        CLAUDE_CONFIG_DIR: path.join(dir, 'cfg'),
        ANTHROPIC_BASE_URL: fake.url,
        ANTHROPIC_API_KEY: 'test-key',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
        IS_SANDBOX: '1', // we run as root here; without it bypassPermissions makes the CLI exit 1
      },
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      settingSources: [],
      cwd: dir,
      model: 'claude-sonnet-4-5',
    },
  });
  for await (const m of q) seen.push(m);
  return seen;
}

const resultOf = (msgs: SDKMessage[]) => msgs.find((m): m is SDKResultMessage => m.type === 'result');

describe('fake Anthropic API + real Agent SDK', () => {
  it('returns a scripted text reply as the result and records the request', async () => {
    const { fake, dir } = await setup();
    const msgs = await run(fake, dir, 'hello carapace');

    const result = resultOf(msgs);
    expect(result?.subtype).toBe('success');
    expect(result?.subtype === 'success' && result.result).toBe('ECHO: hello carapace');

    const main = fake.requests.filter((r) => r.kind === 'main');
    expect(main).toHaveLength(1);
    expect(main[0].method).toBe('POST');
    expect(main[0].path).toBe('/v1/messages');
    expect(main[0].headers['x-api-key']).toBe('test-key');
    expect(main[0].body.model).toBe('claude-sonnet-4-5');
    expect(main[0].body.stream).toBe(true);
    expect(main[0].receivedAtEpochMs).toBeGreaterThan(0);
    expect(toScriptRequest(main[0].body).lastUserText).toBe('hello carapace');
    expect(fake.scriptErrors).toEqual([]);
  }, 30_000);

  it('runs a Bash tool_use in cwd and feeds the tool result back', async () => {
    const { fake, dir } = await setup();
    const msgs = await run(fake, dir, "RUN_BASH: printf 'made-by-bash' > out.txt && cat out.txt");

    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe('made-by-bash');
    const result = resultOf(msgs);
    expect(result?.subtype === 'success' && result.result).toBe('TOOL_DONE: made-by-bash');

    // Second main-loop call carries the tool_result for the tool_use id the fake handed out in the first reply.
    const main = await fake.waitForRequests(2, 1000);
    expect(main).toHaveLength(2);
    const second = toScriptRequest(main[1].body);
    expect(second.turn).toBe(1);
    const assistant = main[1].body.messages.find((m: any) => m.role === 'assistant');
    const use = assistant.content.find((b: any) => b.type === 'tool_use');
    expect(use).toMatchObject({ name: 'Bash', input: { command: "printf 'made-by-bash' > out.txt && cat out.txt" } });
    expect(use.id).toMatch(/^toolu_/);
    expect(second.toolResults).toEqual([{ toolUseId: use.id, content: 'made-by-bash', isError: false }]);
    expect(fake.scriptErrors).toEqual([]);
  }, 30_000);

  it('makes the SDK iterator throw on an API error reply', async () => {
    const { fake, dir } = await setup(() => ({
      error: { status: 400, type: 'invalid_request_error', message: 'scripted failure xyz' },
    }));
    const seen: SDKMessage[] = [];
    const err = await run(fake, dir, 'anything', seen).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/400/);
    expect((err as Error).message).toContain('scripted failure xyz');
    // Before throwing, the SDK still yields a result flagged is_error (oddly with subtype 'success').
    expect(resultOf(seen)).toMatchObject({ is_error: true, result: 'API Error: 400 scripted failure xyz' });
    // A 400 is not retried with backoff, but CLI 2.1.330 re-sends with fewer beta headers (6 requests in all).
    expect(fake.requests.filter((r) => r.kind === 'main').length).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('fake Anthropic API over plain HTTP', () => {
  it('serves non-streaming JSON, count_tokens, hello, 404s, and turns script throws into 500s', async () => {
    const { fake } = await setup();
    const post = (p: string, body: unknown) =>
      fetch(fake.url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const tools = [{ name: 'Bash', input_schema: { type: 'object' } }];

    const echo = await post('/v1/messages', { model: 'm', tools, messages: [{ role: 'user', content: 'hi' }] });
    expect(echo.status).toBe(200);
    expect(await echo.json()).toMatchObject({ type: 'message', model: 'm', content: [{ type: 'text', text: 'ECHO: hi' }], stop_reason: 'end_turn' });

    const bash = await (await post('/v1/messages', { model: 'm', tools, messages: [{ role: 'user', content: 'RUN_BASH: ls' }] })).json();
    expect(bash.stop_reason).toBe('tool_use');
    expect(bash.content[0]).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'ls' } });

    const recall = await (
      await post('/v1/messages', {
        model: 'm',
        tools,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'remember SECRET=k42' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
          { role: 'user', content: [{ type: 'text', text: '<system-reminder>x</system-reminder>' }, { type: 'text', text: 'RECALL' }] },
        ],
      })
    ).json();
    expect(recall.content[0].text).toBe('RECALLED: SECRET=k42');

    expect(await (await post('/v1/messages/count_tokens?beta=true', { messages: [] })).json()).toHaveProperty('input_tokens');
    expect((await fetch(fake.url + '/api/hello', { method: 'HEAD' })).status).toBe(200);
    const missing = await fetch(fake.url + '/nope');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.type).toBe('not_found_error');

    fake.setScript(() => {
      throw new Error('boom');
    });
    const broken = await post('/v1/messages', { model: 'm', tools, messages: [{ role: 'user', content: 'x' }] });
    expect(broken.status).toBe(500);
    expect((await broken.json()).error).toEqual({ type: 'api_error', message: 'fake-anthropic script threw: boom' });
    expect(fake.scriptErrors.map((e) => e.message)).toEqual(['boom']);
    expect(fake.requests.map((r) => r.kind)).toEqual(['main', 'main', 'main', 'count_tokens', 'hello', 'unknown', 'main']);
  });
});

describe('fake Anthropic API timing controls', () => {
  it('delays, hangs, notifies listeners, and still closes promptly', async () => {
    const fake = await startFakeAnthropic({ script: (req) => (req.lastUserText === 'hang' ? { hang: true } : { delayMs: 150, content: [text('late')] }) });
    const arrivals: number[] = [];
    fake.onRequest((r) => arrivals.push(r.receivedAt));
    const post = (content: string, signal?: AbortSignal) =>
      fetch(fake.url + '/v1/messages', {
        method: 'POST',
        body: JSON.stringify({ model: 'm', tools: [{ name: 'Bash' }], messages: [{ role: 'user', content }] }),
        signal,
      });

    const t0 = performance.now();
    expect((await (await post('slow')).json()).content[0].text).toBe('late');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);

    const hung = post('hang').then(
      () => 'answered',
      () => 'failed',
    );
    expect(await fake.waitForRequests(2, 1000)).toHaveLength(2);
    await expect(fake.waitForRequests(3, 50)).rejects.toThrow('2/3 main-loop requests');
    await fake.close(); // must not wait for the hung keep-alive connection
    expect(await hung).toBe('failed');
    expect(arrivals).toHaveLength(2);
  });
});
