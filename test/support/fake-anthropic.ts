// A fake Anthropic Messages API, good enough to drive the real Claude Agent SDK (its bundled CLI) offline.
// It speaks the routes the CLI calls (POST /v1/messages with SSE streaming and tool_use, count_tokens, the
// start-up probes), the real event sequence and the API's error shapes. Plain node:http, no dependencies.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { until } from './wait.js';

export type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens';

/** Token counts a reply reports instead of the ones worked out from its size (e.g. to spend a budget). */
export type UsageOverride = Partial<Record<'input_tokens' | 'output_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens', number>>;

export type ScriptReply =
  | { content: Block[]; stop?: StopReason; delayMs?: number; usage?: UsageOverride }
  | { error: { status: number; type: string; message: string }; delayMs?: number }
  | { hang: true };

export interface ToolResult {
  toolUseId: string;
  /** Normalised to a string (built-in tools send a string, MCP tools an array of text blocks); system-reminders stripped. */
  content: string;
  isError: boolean;
}

export interface ScriptRequest {
  body: any;
  headers: http.IncomingHttpHeaders;
  model: string;
  /** `x-claude-code-session-id`, handy for telling concurrent sessions apart. */
  sessionId: string | undefined;
  /** Last non-empty text block of the last user message, reminders stripped. The real prompt is the last block. */
  lastUserText: string;
  toolResults: ToolResult[];
  systemText: string;
  /** Every user text in the conversation, oldest first (reminders stripped, empties dropped). */
  allUserText: string[];
  /** User texts of every user message before the last one (what a RECALL must find). */
  earlierUserText: string[];
  /** The CLI's extra calls (e.g. WebFetch summaries) carry no tools. Route on this, never on the model name. */
  isSideRequest: boolean;
  /** Number of assistant messages already in body.messages. */
  turn: number;
}

export type Script = (req: ScriptRequest) => ScriptReply | Promise<ScriptReply>;

export type RequestKind = 'main' | 'side' | 'count_tokens' | 'hello' | 'models' | 'unknown';

export interface RecordedRequest {
  method: string;
  /** Pathname only; the CLI appends `?beta=true`, kept in `query`. */
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or the raw string if it was not JSON, or undefined if empty. */
  body: any;
  kind: RequestKind;
  /** performance.now() when the request arrived (for latency maths) … */
  receivedAt: number;
  /** … and Date.now() at the same moment (for correlating with logs). */
  receivedAtEpochMs: number;
  /** performance.now() when the last byte of the answer was handed to the socket. */
  respondedAt?: number;
}

export interface FakeAnthropic {
  url: string;
  port: number;
  requests: RecordedRequest[];
  scriptErrors: Error[];
  setScript(script: Script): void;
  /** Called with each request once the last byte of its answer went out; returns an unsubscribe function. */
  onAnswered(listener: (req: RecordedRequest) => void): () => void;
  /** Called with each recorded request as it arrives; returns an unsubscribe function. */
  onRequest(listener: (req: RecordedRequest) => void): () => void;
  /** Resolves with the main-loop requests once at least n have arrived; rejects after timeoutMs. */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export const text = (t: string): Block => ({ type: 'text', text: t });
export const toolUse = (name: string, input: Record<string, unknown>): Block => ({ type: 'tool_use', name, input });

const REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>/g;
const clean = (s: string) => s.replace(REMINDER, '').trim();

/** Text blocks of a message's content (which may be a plain string). */
function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string);
}

export function toScriptRequest(body: any, headers: http.IncomingHttpHeaders = {}): ScriptRequest {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const userMsgs = messages.filter((m) => m?.role === 'user');
  const last = userMsgs[userMsgs.length - 1];
  const userTexts = (m: any) => textsOf(m?.content).map(clean).filter(Boolean);
  const lastTexts = userTexts(last);
  const toolResults: ToolResult[] = (Array.isArray(last?.content) ? last.content : [])
    .filter((b: any) => b?.type === 'tool_result')
    .map((b: any) => ({ toolUseId: b.tool_use_id, content: clean(textsOf(b.content).join('')), isError: !!b.is_error }));
  const system = typeof body?.system === 'string' ? [body.system] : textsOf(body?.system);
  const sid = headers['x-claude-code-session-id'];
  return {
    body,
    headers,
    model: typeof body?.model === 'string' ? body.model : 'claude-fake',
    sessionId: Array.isArray(sid) ? sid[0] : sid,
    lastUserText: lastTexts[lastTexts.length - 1] ?? '',
    toolResults,
    systemText: system.join('\n'),
    allUserText: userMsgs.flatMap(userTexts),
    earlierUserText: userMsgs.slice(0, -1).flatMap(userTexts),
    isSideRequest: !Array.isArray(body?.tools) || body.tools.length === 0,
    turn: messages.filter((m) => m?.role === 'assistant').length,
  };
}

/** Marker-driven default behaviour shared by the test suite and the benchmark. */
export const defaultScript: Script = (req) => {
  if (req.isSideRequest) return { content: [text('Fake side-request answer.')] };
  if (req.toolResults.length) return { content: [text(`TOOL_DONE: ${req.toolResults.map((r) => r.content).join('\n')}`)] };
  const t = req.lastUserText;
  const bash = /RUN_BASH:\s*([\s\S]+)/.exec(t);
  if (bash) return { content: [toolUse('Bash', { command: bash[1].trim(), description: 'Run the requested command' })] };
  if (/\bRECALL\b/.test(t)) {
    const secret = req.earlierUserText.map((s) => /SECRET=[\w.-]+/.exec(s)?.[0]).find(Boolean);
    return { content: [text(`RECALLED: ${secret ?? 'nothing'}`)] };
  }
  const mcp = /CALL_MCP:\s*(\S+)\s+(\{[\s\S]*\})/.exec(t);
  if (mcp) return { content: [text(`Calling ${mcp[1]}.`), toolUse(mcp[1], JSON.parse(mcp[2]))] };
  return { content: [text(`ECHO: ${t}`)] };
};

// Split by code point so a chunk never ends inside a surrogate pair.
function chunks(s: string, size: number): string[] {
  const cps = Array.from(s);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

const tokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));
let idCounter = 0;
const newId = (prefix: string) => `${prefix}${Date.now().toString(36)}${(idCounter++).toString(36).padStart(4, '0')}`;

function sendJson(res: http.ServerResponse, status: number, payload: unknown) {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req_') });
  res.end(JSON.stringify(payload));
}
const apiError = (type: string, message: string) => ({ type: 'error', error: { type, message } });

function writeMessage(res: http.ServerResponse, body: any, rawLength: number, content: Block[], stopArg?: StopReason, override?: UsageOverride) {
  if (res.destroyed) return;
  const blocks = content.map((b) => (b.type === 'tool_use' ? { ...b, id: b.id ?? newId('toolu_') } : b));
  const stop = stopArg ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const outChars = blocks.reduce((n, b) => n + (b.type === 'text' ? b.text.length : JSON.stringify(b.input).length), 0);
  const usage = { input_tokens: tokens(rawLength), output_tokens: tokens(outChars), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...override };
  const message = { id: newId('msg_'), type: 'message', role: 'assistant', model: body?.model ?? 'claude-fake' };

  if (!body?.stream) {
    sendJson(res, 200, { ...message, content: blocks, stop_reason: stop, stop_sequence: null, usage });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': newId('req_') });
  const ev = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
  ev('ping', {});
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const t of chunks(b.text, 16)) ev('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
    } else {
      // Input arrives as JSON fragments the client concatenates, like the real API.
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
      for (const p of chunks(JSON.stringify(b.input), 20)) ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } });
    }
    ev('content_block_stop', { index });
  });
  ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  ev('message_stop', {});
  res.end();
}

function classify(method: string, path: string): RequestKind {
  if (path === '/v1/messages' && method === 'POST') return 'main'; // refined to 'side' once the body is parsed
  if (path === '/v1/messages/count_tokens' && method === 'POST') return 'count_tokens';
  if (path === '/api/hello') return 'hello';
  if (path === '/v1/models' && method === 'GET') return 'models';
  return 'unknown';
}

export async function startFakeAnthropic(opts: { script?: Script } = {}): Promise<FakeAnthropic> {
  let script: Script = opts.script ?? defaultScript;
  const requests: RecordedRequest[] = [];
  const scriptErrors: Error[] = [];
  const listeners = new Set<(r: RecordedRequest) => void>();
  const answeredListeners = new Set<(r: RecordedRequest) => void>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const receivedAt = performance.now();
    const receivedAtEpochMs = Date.now();
    const chunksIn: Buffer[] = [];
    req.on('data', (c: Buffer) => chunksIn.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunksIn).toString('utf8');
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const u = new URL(req.url ?? '/', 'http://x');
      let kind = classify(req.method ?? 'GET', u.pathname);
      if (kind === 'main' && !(Array.isArray(body?.tools) && body.tools.length > 0)) kind = 'side';
      const rec: RecordedRequest = {
        method: req.method ?? 'GET', path: u.pathname, query: u.search, headers: req.headers, body, kind, receivedAt, receivedAtEpochMs,
      };
      requests.push(rec);
      res.on('finish', () => {
        rec.respondedAt = performance.now();
        for (const l of answeredListeners) l(rec);
      });
      for (const l of listeners) l(rec);
      void respond(rec, raw.length, res);
    });
  });

  async function respond(rec: RecordedRequest, rawLength: number, res: http.ServerResponse) {
    switch (rec.kind) {
      case 'hello':
        res.writeHead(200).end();
        return;
      case 'models':
        return sendJson(res, 200, { data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Fake Sonnet' }], has_more: false });
      case 'count_tokens':
        return sendJson(res, 200, { input_tokens: tokens(rawLength) });
      case 'unknown':
        return sendJson(res, 404, apiError('not_found_error', `fake-anthropic: no route for ${rec.method} ${rec.path}`));
    }
    if (typeof rec.body !== 'object' || rec.body === null) {
      return sendJson(res, 400, apiError('invalid_request_error', 'fake-anthropic: body is not JSON'));
    }
    let got: ScriptReply;
    try {
      got = await script(toScriptRequest(rec.body, rec.headers));
    } catch (e) {
      // Surface script bugs to the caller as a 500, and keep them so tests can assert there were none.
      const err = e instanceof Error ? e : new Error(String(e));
      scriptErrors.push(err);
      return sendJson(res, 500, apiError('api_error', `fake-anthropic script threw: ${err.message}`));
    }
    const reply = got; // const, so the narrowing below survives into the closure
    if ('hang' in reply) return; // never answer; close() tears the socket down
    const send = () =>
      'error' in reply
        ? sendJson(res, reply.error.status, apiError(reply.error.type, reply.error.message))
        : writeMessage(res, rec.body, rawLength, reply.content, reply.stop, reply.usage);
    if (!reply.delayMs) return send();
    const t = setTimeout(() => (timers.delete(t), send()), reply.delayMs);
    timers.add(t);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as import('node:net').AddressInfo).port;
  const mainRequests = () => requests.filter((r) => r.kind === 'main');

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    scriptErrors,
    setScript(s) {
      script = s;
    },
    onAnswered(listener) {
      answeredListeners.add(listener);
      return () => answeredListeners.delete(listener);
    },
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForRequests(n, timeoutMs = 10_000) {
      return until(() => mainRequests().length >= n && mainRequests(), timeoutMs, () => `fake-anthropic: ${mainRequests().length}/${n} main-loop requests`);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // The CLI keeps connections alive; without closeAllConnections() server.close() would wait for them.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
