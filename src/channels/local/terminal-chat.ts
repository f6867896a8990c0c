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
  /** A person at a terminal (default: when `input` is a TTY): greeted, shown the history and typing notices.
   * Otherwise (`echo hi | carapace chat`) only what is said is printed, and the chat waits for the reply. */
  interactive?: boolean;
  /** With input that is not a terminal (`echo hi | carapace chat`): how long to wait for the reply after it ends. */
  replyTimeoutMs?: number;
}

/** How a chat ended: the owner left (or it was aborted), nothing answered at the URL, the server refused, or
 * piped input got no reply in time. */
export type ChatEnd = 'closed' | 'not-running' | 'failed' | 'no-reply';

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
    history: async (limit = 20): Promise<ChatLine[]> => {
      const res = expectOk(await request(`/api/history?limit=${limit}`, { signal: stop }), '/api/history');
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
  const seen = seenLines();
  try {
    let events: Response;
    try {
      // Piped input (a script) gets only the answer; a person gets the conversation so far.
      const interactive = isInteractive(opts);
      for (const m of await api.history()) {
        const line = seen.mark(m);
        if (interactive) output.write(`${line}\n`);
      }
      events = await api.openEvents();
    } catch (err) {
      if (stop.signal.aborted) return 'closed';
      output.write(`${err instanceof ChatError ? err.message : String(err)}\n`);
      return err instanceof ChatError ? err.end : 'failed';
    }
    return await converse(opts, { api, seen }, events, base, stop);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** The interactive part: print events above the prompt, send what the owner types, until they leave. */
async function converse(opts: TerminalChatOptions, session: Session, events: Response, base: string, stop: AbortController): Promise<ChatEnd> {
  const view = terminalView(opts.input, opts.output);
  const piped = !isInteractive(opts);
  if (!piped) view.show(`Connected to Carapace at ${base}. Type a message and press Enter; /quit or Ctrl-D to leave.`);
  const replies = replyWatch();
  const printer = eventPrinter(view.show, session.seen, replies, piped);
  const pump = pumpEvents(events, session, printer, view.show, stop.signal);
  const sent = await readAndSend(view, stop.signal, sender(session, view.show, opts.senderName, replies));
  let end: ChatEnd = piped && sent.sent < sent.typed ? 'failed' : 'closed';
  if (piped && sent.sent > 0 && !stop.signal.aborted) {
    const timeoutMs = opts.replyTimeoutMs ?? 600_000;
    const answered = await replies.settled(timeoutMs, stop.signal);
    if (!answered && !stop.signal.aborted) {
      view.show(`No reply within ${Math.round(timeoutMs / 1000)} s; it will still be in the chat's history.`);
      end = 'no-reply';
    }
  }
  stop.abort(); // closes the event stream
  await pump;
  return end;
}

const isInteractive = (opts: TerminalChatOptions) => opts.interactive ?? (opts.input as { isTTY?: boolean }).isTTY === true;

/** The API and what this terminal has already shown. */
interface Session {
  api: ChatApi;
  seen: SeenLines;
}

type SeenLines = ReturnType<typeof seenLines>;

/**
 * What was shown or sent lately, so the history fetched after a reconnect prints only what was missed. Events and
 * the stored history carry different ids, so a line is known by its text, and only lines from about the time
 * the connection was lost on are candidates.
 */
function seenLines(keep = 200) {
  const texts: string[] = [];
  let latest = 0;
  const remember = (text: string) => {
    texts.push(text);
    if (texts.length > keep) texts.shift();
  };
  return {
    /** Remember a line being shown; returns it formatted. */
    mark(line: { senderName?: string; text?: string; timestamp?: number }, fallbackName = 'Assistant'): string {
      remember(line.text ?? '');
      latest = Math.max(latest, line.timestamp ?? Date.now());
      return `${line.senderName ?? fallbackName}: ${line.text}`;
    },
    sent: remember,
    /** History lines not shown yet. */
    missed: (history: ChatLine[]) => history.filter((m) => m.timestamp > latest - 5_000 && !texts.includes(m.text)),
  };
}

/** Whether the assistant has answered the last message sent, and has stopped typing. */
function replyWatch() {
  let waiting = false;
  let typing = false;
  let wake = () => {};
  const settledNow = () => !waiting && !typing;
  return {
    /** Before a message is posted (its reply may arrive before the post returns); `posted(false)` takes it back. */
    sending: () => void (waiting = true),
    posted: (ok: boolean) => void (waiting &&= ok),
    /** A reply also ends the typing notice (as on screen); typing again within the quiet moment keeps waiting. */
    reply: () => ((waiting = typing = false), wake()),
    typing: (on: boolean) => ((typing = on), wake()),
    /** Resolves true once answered and quiet for a moment (a reply may be followed by more), false on timeout. */
    async settled(timeoutMs: number, stop: AbortSignal): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !stop.aborted) {
        if (settledNow()) {
          await sleep(1_000, undefined, { signal: stop }).catch(() => {});
          if (settledNow()) return true;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(1_000, Math.max(0, deadline - Date.now()))).unref();
        });
      }
      return false;
    },
  };
}
type ReplyWatch = ReturnType<typeof replyWatch>;

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
/** `quiet`: piped input, where only what is said is printed. */
function eventPrinter(show: (line: string) => void, seen: SeenLines, replies: ReplyWatch, quiet: boolean): (type: string, data: string) => void {
  let typing = false;
  return (type, data) => {
    const d = JSON.parse(data) as { text?: string; senderName?: string; typing?: boolean; timestamp?: number; card?: { text: string } };
    if (type === 'reply' || type === 'card') {
      typing = false; // a card's text says how to answer it here: "allow 3", "deny 3"
      show(seen.mark(type === 'card' ? { ...d, text: d.card?.text ?? d.text } : d));
      replies.reply();
    } else if (type === 'message') {
      show(seen.mark(d));
    } else if (type === 'typing') {
      if (d.typing && !typing && !quiet) show('(typing…)');
      typing = d.typing === true;
      replies.typing(typing);
    }
  };
}

/** Read the event stream; if the assistant restarts, reconnect with backoff until `stop`. */
async function pumpEvents(
  first: Response,
  { api, seen }: Session,
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
      const missed = seen.missed(await api.history(200)); // more than a screenful may have been said meanwhile
      show(`Reconnected.${missed.length ? ` While away:` : ''}`);
      for (const m of missed) show(seen.mark(m));
    } catch {
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/** Posts one typed line; problems are shown, never thrown. */
function sender(
  { api, seen }: Session,
  show: (line: string) => void,
  senderName: string | undefined,
  replies: ReplyWatch,
): (text: string) => Promise<boolean> {
  return async (text) => {
    seen.sent(text);
    replies.sending();
    try {
      const res = await api.request('/api/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, senderName, clientId: api.clientId }),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      if (!res.ok) show(`Not sent: ${body.error ?? `HTTP ${res.status}`}`);
      replies.posted(res.ok);
      return res.ok;
    } catch (err) {
      show(err instanceof ChatError ? err.message : `Not sent: ${String(err)}`);
      replies.posted(false);
      return false;
    }
  };
}

/** Send each typed line until /quit, end of input or `stop`; a line typed just before Ctrl-D still gets sent. */
async function readAndSend(view: TerminalView, stop: AbortSignal, send: (text: string) => Promise<boolean>): Promise<{ typed: number; sent: number }> {
  // Posts run one after another so messages arrive in the order they were typed.
  let sending = Promise.resolve();
  const count = { typed: 0, sent: 0 };
  await new Promise<void>((resolve) => {
    view.rl.on('line', (line) => {
      const text = line.trim();
      if (text === '/quit' || text === '/exit') return view.rl.close();
      if (text) {
        count.typed++;
        sending = sending.then(async () => void (count.sent += (await send(text)) ? 1 : 0));
      } else view.prompt();
    });
    view.rl.once('close', resolve);
    stop.addEventListener('abort', () => view.rl.close(), { once: true });
    view.prompt();
  });
  await sending;
  return count;
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
