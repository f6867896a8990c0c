// `carapace chat`: talk to the running assistant from the terminal, over the local channel's HTTP API.

import { randomUUID } from 'node:crypto';
import { clearLine, createInterface, cursorTo } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatLine } from './local-channel.js';

export interface TerminalChatOptions {
  url: string;
  token: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  senderName?: string;
  signal?: AbortSignal;
}

/** An error whose message is already fit to show the user. */
class ChatError extends Error {}

/** The local channel's HTTP API as the terminal uses it; failures become messages fit to show. */
function chatApi(opts: TerminalChatOptions, clientId: string, stop: AbortSignal) {
  const base = opts.url.replace(/\/+$/, '');
  const auth = { Authorization: `Bearer ${opts.token}` };
  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(base + path, { ...init, headers: { ...auth, ...init.headers } });
    } catch (err) {
      if (stop.aborted) throw err;
      throw new ChatError(`Carapace is not running at ${base} — start it with \`npm start\``);
    }
    if (res.status === 401) throw new ChatError(`Carapace at ${base} rejected the access token — check the token you gave \`carapace chat\``);
    return res;
  };
  const get = async (path: string): Promise<Response> => {
    const res = await request(path, { signal: stop });
    if (!res.ok || !res.body) throw new ChatError(`Carapace answered HTTP ${res.status} on ${base}${path.replace(/\?.*/, '')}`);
    return res;
  };
  return {
    base,
    request,
    history: async () => ((await (await get('/api/history?limit=20')).json()) as { messages: ChatLine[] }).messages,
    openEvents: () => get(`/api/events?client=${encodeURIComponent(clientId)}`),
  };
}
type ChatApi = ReturnType<typeof chatApi>;

export async function runTerminalChat(opts: TerminalChatOptions): Promise<void> {
  const { output, signal } = opts;
  if (signal?.aborted) return;
  const clientId = randomUUID(); // lets the server skip echoing our own lines back to us
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const api = chatApi(opts, clientId, stop.signal);

  let events: Response | undefined;
  try {
    for (const m of await api.history()) output.write(`${m.senderName}: ${m.text}\n`);
    events = await api.openEvents();
  } catch (err) {
    if (!stop.signal.aborted) output.write(`${err instanceof ChatError ? err.message : String(err)}\n`);
  }
  if (events) await converse(opts, api, events, clientId, stop);
  signal?.removeEventListener('abort', onAbort);
  stop.abort(); // closes the event stream
}

/** Read what the owner types and show what arrives, until /quit, Ctrl-D or the caller's signal. */
async function converse(opts: TerminalChatOptions, api: ChatApi, events: Response, clientId: string, stop: AbortController): Promise<void> {
  const { output } = opts;
  const tty = (output as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input: opts.input, output, terminal: tty });
  rl.setPrompt('> ');
  const prompt = () => tty && rl.prompt(true);
  // Print above the prompt without clobbering what the owner is typing.
  const show = (line: string) => {
    if (tty) {
      clearLine(output, 0);
      cursorTo(output, 0);
    }
    output.write(`${line}\n`);
    prompt();
  };
  show(`Connected to Carapace at ${api.base}. Type a message and press Enter; /quit or Ctrl-D to leave.`);
  const pump = listen(api, events, eventPrinter(show), show, stop.signal);

  // Posts run one after another so messages arrive in the order they were typed.
  let sending = Promise.resolve();
  const post = async (text: string) => {
    try {
      const res = await api.request('/api/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, senderName: opts.senderName, clientId }),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      if (!res.ok) show(`Not sent: ${body.error ?? `HTTP ${res.status}`}`);
    } catch (err) {
      show(err instanceof ChatError ? err.message : `Not sent: ${String(err)}`);
    }
  };
  await new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      const text = line.trim();
      if (text === '/quit' || text === '/exit') return rl.close();
      if (text) sending = sending.then(() => post(text));
      else prompt();
    });
    rl.once('close', resolve);
    stop.signal.addEventListener('abort', () => rl.close(), { once: true });
    prompt();
  });
  await sending; // a line typed just before Ctrl-D still gets sent
  stop.abort(); // closes the event stream
  await pump;
}

/** Replies, messages from other windows, and "typing…" once per burst. */
function eventPrinter(show: (line: string) => void): (type: string, data: string) => void {
  let typing = false;
  return (type, data) => {
    const d = JSON.parse(data) as { text?: string; senderName?: string; typing?: boolean };
    if (type === 'reply') {
      typing = false;
      show(`${d.senderName ?? 'Assistant'}: ${d.text}`);
    } else if (type === 'message') {
      show(`${d.senderName}: ${d.text}`); // sent from another window
    } else if (type === 'typing') {
      if (d.typing && !typing) show('(typing…)');
      typing = d.typing === true;
    }
  };
}

/** Read the event stream; if the assistant restarts, reconnect with backoff until told to stop. */
async function listen(
  api: ChatApi,
  first: Response,
  onEvent: (type: string, data: string) => void,
  show: (line: string) => void,
  stop: AbortSignal,
): Promise<void> {
  let res: Response | undefined = first;
  let delay = 500;
  while (!stop.aborted) {
    if (res) {
      await readSse(res, onEvent).catch(() => {});
      if (stop.aborted) break;
      show('Lost the connection to Carapace — reconnecting…');
      res = undefined;
    }
    await sleep(delay, undefined, { signal: stop }).catch(() => {});
    if (stop.aborted) break;
    try {
      res = await api.openEvents();
      delay = 500;
      show('Reconnected.');
    } catch {
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/** Minimal SSE parser for our own server's frames: `event:` + one or more `data:` lines, blank-line separated. */
async function readSse(res: Response, onEvent: (type: string, data: string) => void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) {
        try {
          onEvent(type, data.join('\n'));
        } catch {
          // ignore a malformed frame rather than dropping the stream
        }
      }
    }
  }
}
