import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../src/channels/channel.js';
import { LocalChannel, type ChatLine } from '../src/channels/local/local-channel.js';
import { runTerminalChat } from '../src/channels/local/terminal-chat.js';
import { until } from './support/wait.js';

const TOKEN = 'test-token-123';
const auth = { Authorization: `Bearer ${TOKEN}` };
const HISTORY: ChatLine[] = [
  { id: 'h1', from: 'user', senderName: 'Ada', text: 'earlier question', timestamp: 1 },
  { id: 'h2', from: 'assistant', senderName: 'Andy', text: 'earlier answer', timestamp: 2 },
];

let channel: LocalChannel | undefined;
afterEach(async () => {
  await channel?.disconnect();
  channel = undefined;
});

async function start(extra: { maxMessageChars?: number } = {}) {
  const received: InboundMessage[] = [];
  const historyCalls: Array<[string, number]> = [];
  channel = new LocalChannel({
    port: 0,
    token: TOKEN,
    ownerName: 'Ada',
    history: (chatId, limit) => {
      historyCalls.push([chatId, limit]);
      return HISTORY;
    },
    ...extra,
  });
  await channel.connect((m) => received.push(m));
  const url = channel.address().url.replace(/\/$/, '');
  return { ch: channel, url, received, historyCalls };
}

/** Opens the event stream and collects raw SSE text. */
async function subscribe(url: string, query = '') {
  const ctl = new AbortController();
  const res = await fetch(`${url}/api/events?token=${TOKEN}${query}`, { signal: ctl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const state = { text: '' };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      state.text += decoder.decode(value, { stream: true });
    }
  })().catch(() => {});
  await until(() => state.text.includes('retry:'));
  return { state, close: () => ctl.abort() };
}

const post = (url: string, body: string, headers: Record<string, string> = auth) =>
  fetch(`${url}/api/messages`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body });

describe('LocalChannel', () => {
  it('owns local: chats and binds to loopback', async () => {
    const { ch } = await start();
    expect(ch.name).toBe('local');
    expect(ch.owns('local:owner')).toBe(true);
    expect(ch.owns('wa:123')).toBe(false);
    expect(ch.address().host).toBe('127.0.0.1');
    expect(ch.address().url).not.toContain(TOKEN);
  });

  it('hands a POSTed message to the sink', async () => {
    const { url, received } = await start();
    const res = await post(url, JSON.stringify({ text: 'hello there' }));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(received).toHaveLength(1);
    const m = received[0]!;
    expect(m).toMatchObject({ chatId: 'local:owner', platformId: id, senderId: 'local:owner', senderName: 'Ada', text: 'hello there' });
    expect(Math.abs(m.timestamp - Date.now())).toBeLessThan(5000);

    await post(url, JSON.stringify({ text: 'again', senderName: 'Bob' }));
    expect(received[1]!.senderName).toBe('Bob');
    expect(received[1]!.platformId).not.toBe(id);
  });

  it('pushes replies and typing to subscribers, and echoes posts to other clients only', async () => {
    const { ch, url } = await start();
    const a = await subscribe(url, '&client=A');
    const b = await subscribe(url, '&client=B');
    await ch.setTyping('local:owner', true);
    const id = await ch.send('local:owner', 'the answer');
    expect(id).toMatch(/^local-\d+-\d+$/);
    await until(() => a.state.text.includes('event: reply'));
    expect(a.state.text).toContain('event: typing\ndata: {"typing":true}\n\n');
    const replyData = /event: reply\ndata: (.*)\n\n/.exec(a.state.text)![1]!;
    expect(JSON.parse(replyData)).toMatchObject({ id, text: 'the answer' });

    await post(url, JSON.stringify({ text: 'from tab A', clientId: 'A' }));
    await until(() => b.state.text.includes('event: message'));
    expect(b.state.text).toContain('from tab A');
    expect(a.state.text).not.toContain('event: message');
    a.close();
    b.close();
  });

  it('rejects a missing or wrong token with 401', async () => {
    const { url, received } = await start();
    for (const res of [
      await fetch(`${url}/api/history`),
      await fetch(`${url}/api/history?token=wrong`),
      await fetch(`${url}/api/events`, { headers: { Authorization: 'Bearer nope' } }),
      await post(url, JSON.stringify({ text: 'hi' }), {}),
    ]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toHaveProperty('error');
    }
    expect(received).toHaveLength(0);
  });

  it('rejects oversized text with 413 without calling the sink', async () => {
    const { url, received } = await start({ maxMessageChars: 100 });
    const res = await post(url, JSON.stringify({ text: 'x'.repeat(101) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/too long.*100/);
    // A body far past the read cap is refused without buffering it.
    const huge = await post(url, JSON.stringify({ text: 'y'.repeat(2_000_000) }));
    expect(huge.status).toBe(413);
    expect(received).toHaveLength(0);
    expect((await post(url, JSON.stringify({ text: 'x'.repeat(100) }))).status).toBe(202);
  });

  it('rejects invalid JSON and blank text with 400', async () => {
    const { url, received } = await start();
    expect((await post(url, '{not json')).status).toBe(400);
    expect((await post(url, JSON.stringify({ text: '   ' }))).status).toBe(400);
    expect((await post(url, JSON.stringify({ text: 42 }))).status).toBe(400);
    expect(received).toHaveLength(0);
  });

  it('serves history from the callback', async () => {
    const { url, historyCalls } = await start();
    const res = await fetch(`${url}/api/history?limit=7`, { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ messages: HISTORY });
    expect(historyCalls).toEqual([['local:owner', 7]]);
  });

  it('serves the page with security headers and 404s the rest', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain('<textarea');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/\sstyle=|<style/);
    for (const path of ['/console/app.js', '/console/chat.js', '/vendor/marked.js', '/vendor/purify.js']) {
      const file = await fetch(`${url}${path}`);
      expect(file.headers.get('content-type'), path).toMatch(/text\/javascript/);
      expect((await file.text()).length).toBeGreaterThan(100);
    }
    expect((await fetch(`${url}/console/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/api/nope`, { headers: auth })).status).toBe(404);
  });

  it('disconnects promptly with an open event stream', async () => {
    const { ch, url } = await start();
    const sub = await subscribe(url);
    const t0 = Date.now();
    await ch.disconnect();
    expect(Date.now() - t0).toBeLessThan(1000);
    sub.close();
    await expect(fetch(`${url}/`)).rejects.toThrow();
  });
});

describe('approval cards in the local chat', () => {
  it('sends a card as an event; a press is answered by the host as the owner; bad presses are refused', async () => {
    const { ch } = await start();
    const press = (body: unknown, token = TOKEN) =>
      fetch(`${ch.address().url}api/cards`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await press({ cardId: '3', choice: 'once' })).status).toBe(409); // connected without a host: nobody to answer
    await ch.disconnect();
    const pressed: unknown[] = [];
    const host = { answer: async (cardId: string, choice: string, from: unknown) => (pressed.push({ cardId, choice, from }), 'Allowed once') };
    await ch.connect(() => undefined, host as never);
    expect((await press({ cardId: '3', choice: 'once' }, 'wrong')).status).toBe(401);
    expect((await press({ cardId: 3, choice: 'once' })).status).toBe(400);
    const ok = await press({ cardId: '3', choice: 'once' });
    expect(await ok.json()).toEqual({ text: 'Allowed once' });
    expect(pressed).toEqual([{ cardId: '3', choice: 'once', from: { channel: 'local', userId: 'local:owner' } }]);
  });
});

describe('runTerminalChat', () => {
  function terminal(url: string, extra: { token?: string } = {}) {
    const input = new PassThrough();
    const output = new PassThrough();
    const out = { text: '' };
    output.on('data', (c: Buffer) => (out.text += c.toString()));
    const done = runTerminalChat({ url, token: extra.token ?? TOKEN, input, output, senderName: 'Ada (terminal)', interactive: true });
    return { input, out, done };
  }

  it('shows an approval card as text; the owner answers it with a typed short reply', async () => {
    const { ch, url, received } = await start();
    const t = terminal(url);
    await until(() => t.out.text.includes('Connected to Carapace'));
    const card = { id: '3', text: 'Web access request 3 … Reply "allow 3" (this once) or "deny 3".', choices: [{ id: 'once', label: 'Allow once' }] };
    await ch.sendCard('local:owner', card);
    await until(() => t.out.text.includes('Assistant: Web access request 3'));
    t.input.write('allow 3\n');
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ chatId: 'local:owner', text: 'allow 3' });
    t.input.write('/quit\n');
    expect(await t.done).toBe('closed');
  });

  it('prints history, sends typed lines and shows replies', async () => {
    const { ch, url, received } = await start();
    const t = terminal(url);
    await until(() => t.out.text.includes('Connected to Carapace'));
    expect(t.out.text).toContain('Andy: earlier answer');

    t.input.write('hi from the terminal\n');
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ chatId: 'local:owner', text: 'hi from the terminal', senderName: 'Ada (terminal)' });

    await ch.setTyping('local:owner', true);
    await ch.send('local:owner', 'hello, terminal');
    await until(() => t.out.text.includes('Assistant: hello, terminal'));
    expect(t.out.text).toContain('typing');

    t.input.write('/quit\n');
    expect(await t.done).toBe('closed');
  });

  it('sends the last line before input ends', async () => {
    const { url, received } = await start();
    const t = terminal(url);
    await until(() => t.out.text.includes('Connected'));
    t.input.end('bye\n');
    await t.done;
    expect(received.map((m) => m.text)).toEqual(['bye']);
  });

  it('says so when Carapace is not running', async () => {
    const port = await freePort();
    const t = terminal(`http://127.0.0.1:${port}`);
    expect(await t.done).toBe('not-running');
    expect(t.out.text).toContain(`Carapace is not running at http://127.0.0.1:${port} — start it with \`npm start\``);
  });

  it('says so when the token is wrong', async () => {
    const { url } = await start();
    const t = terminal(url, { token: 'wrong' });
    expect(await t.done).toBe('failed');
    expect(t.out.text).toMatch(/rejected the access token/);
  });

  it('ends on abort', async () => {
    const { url } = await start();
    const ctl = new AbortController();
    const output = new PassThrough();
    let text = '';
    output.on('data', (c: Buffer) => (text += c.toString()));
    const done = runTerminalChat({ url, token: TOKEN, input: new PassThrough(), output, signal: ctl.signal, interactive: true });
    await until(() => text.includes('Connected'));
    ctl.abort();
    await done;
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
