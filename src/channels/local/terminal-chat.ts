// `carapace chat`: talk to the running assistant from the terminal, over the local channel's HTTP API.

import { randomUUID } from 'node:crypto';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
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

/** How a chat ended: the owner left (or it was aborted), nothing answered at the URL, or the server refused. */
export type ChatEnd = 'closed' | 'not-running' | 'failed';

/** An error whose message is already fit to show the user. */
class ChatError extends Error {
  constructor(
    message: string,
    readonly end: ChatEnd = 'failed',
  ) {
    super(message);
  }
}

/** The local API as the terminal uses it; every request stops with `stop`. */
function chatApi(base: string, token: string, stop: AbortSignal) {
  const clientId = randomUUID(); // lets the server skip echoing our own lines back to us
  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(base + path, { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
    } catch (err) {
      if (stop.aborted) throw err;
      throw new ChatError(`Carapace is not running at ${base} — start it with \`npm start\``, 'not-running');
    }
    if (res.status === 401) throw new ChatError(`Carapace at ${base} rejected the access token — check the token you gave \`carapace chat\``);
    return res;
  };
  const expectOk = (res: Response, path: string) => {
    if (!res.ok || !res.body) throw new ChatError(`Carapace answered HTTP ${res.status} on ${base}${path}`);
    return res;
  };
  return {
    clientId,
    request,
    history: async (): Promise<ChatLine[]> => {
      const res = expectOk(await request('/api/history?limit=20', { signal: stop }), '/api/history');
      return ((await res.json()) as { messages: ChatLine[] }).messages;
    },
    openEvents: async (): Promise<Response> =>
      expectOk(await request(`/api/events?client=${encodeURIComponent(clientId)}`, { signal: stop }), '/api/events'),
  };
}
type ChatApi = ReturnType<typeof chatApi>;

export async function runTerminalChat(opts: TerminalChatOptions): Promise<ChatEnd> {
  const { output, signal } = opts;
  if (signal?.aborted) return 'closed';
  const base = opts.url.replace(/\/+$/, '');
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const api = chatApi(base, opts.token, stop.signal);
  try {
    let events: Response;
    try {
      for (const m of await api.history()) output.write(`${m.senderName}: ${m.text}\n`);
      events = await api.openEvents();
    } catch (err) {
      if (stop.signal.aborted) return 'closed';
      output.write(`${err instanceof ChatError ? err.message : String(err)}\n`);
      return err instanceof ChatError ? err.end : 'failed';
    }
    await converse(opts, api, events, base, stop);
    return 'closed';
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** The interactive part: print events above the prompt, send what the owner types, until they leave. */
async function converse(opts: TerminalChatOptions, api: ChatApi, events: Response, base: string, stop: AbortController): Promise<void> {
  const view = terminalView(opts.input, opts.output);
  view.show(`Connected to Carapace at ${base}. Type a message and press Enter; /quit or Ctrl-D to leave.`);
  const pump = pumpEvents(events, api, eventPrinter(view.show), view.show, stop.signal);
  await readAndSend(view, stop.signal, sender(api, view.show, opts.senderName));
  stop.abort(); // closes the event stream
  await pump;
}

interface TerminalView {
  rl: Interface;
  prompt(): void;
  /** Print a line above the prompt without clobbering what the owner is typing. */
  show(line: string): void;
}

function terminalView(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): TerminalView {
  const tty = (output as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, terminal: tty });
  rl.setPrompt('> ');
  const prompt = () => {
    if (tty) rl.prompt(true);
  };
  const show = (line: string) => {
    if (tty) {
      clearLine(output, 0);
      cursorTo(output, 0);
    }
    output.write(`${line}\n`);
    prompt();
  };
  return { rl, prompt, show };
}

/** Turns the server's events into lines: replies, messages sent from another window, and a typing notice. */
function eventPrinter(show: (line: string) => void): (type: string, data: string) => void {
  let typing = false;
  return (type, data) => {
    const d = JSON.parse(data) as { text?: string; senderName?: string; typing?: boolean; card?: { text: string } };
    if (type === 'reply' || type === 'card') {
      typing = false; // a card's text says how to answer it here: "allow 3", "deny 3"
      show(`${d.senderName ?? 'Assistant'}: ${d.card?.text ?? d.text}`);
    } else if (type === 'message') {
      show(`${d.senderName}: ${d.text}`);
    } else if (type === 'typing') {
      if (d.typing && !typing) show('(typing…)');
      typing = d.typing === true;
    }
  };
}

/** Read the event stream; if the assistant restarts, reconnect with backoff until `stop`. */
async function pumpEvents(
  first: Response,
  api: ChatApi,
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

/** Posts one typed line; problems are shown, never thrown. */
function sender(api: ChatApi, show: (line: string) => void, senderName: string | undefined): (text: string) => Promise<void> {
  return async (text) => {
    try {
      const res = await api.request('/api/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, senderName, clientId: api.clientId }),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      if (!res.ok) show(`Not sent: ${body.error ?? `HTTP ${res.status}`}`);
    } catch (err) {
      show(err instanceof ChatError ? err.message : `Not sent: ${String(err)}`);
    }
  };
}

/** Send each typed line until /quit, end of input or `stop`; a line typed just before Ctrl-D still gets sent. */
async function readAndSend(view: TerminalView, stop: AbortSignal, send: (text: string) => Promise<void>): Promise<void> {
  // Posts run one after another so messages arrive in the order they were typed.
  let sending = Promise.resolve();
  await new Promise<void>((resolve) => {
    view.rl.on('line', (line) => {
      const text = line.trim();
      if (text === '/quit' || text === '/exit') return view.rl.close();
      if (text) sending = sending.then(() => send(text));
      else view.prompt();
    });
    view.rl.once('close', resolve);
    stop.addEventListener('abort', () => view.rl.close(), { once: true });
    view.prompt();
  });
  await sending;
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
