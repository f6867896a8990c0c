// Reads token usage out of a Messages API response as it streams past, without touching the bytes the client
// gets: the proxy forwards the response unchanged and shows each chunk it forwards here.
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import type { TokenUsage } from '../store/store.js';

export type MeteredUsage = TokenUsage & { model?: string };

const MAX_JSON_BYTES = 8 * 1024 * 1024;
/** One SSE event's pending lines at most; usage events are tiny, a bigger one is text we need not read. */
const MAX_EVENT_BYTES = 1024 * 1024;
const FIELDS: [keyof TokenUsage, string][] = [
  ['inputTokens', 'input_tokens'],
  ['outputTokens', 'output_tokens'],
  ['cacheCreationInputTokens', 'cache_creation_input_tokens'],
  ['cacheReadInputTokens', 'cache_read_input_tokens'],
];
/** The events that carry usage (an unnamed one might be either); text deltas are skipped without parsing. */
const USAGE_EVENTS = new Set([undefined, 'message_start', 'message_delta']);

/** Usage counts in an API object override what we have (message_delta carries cumulative counts). */
function apply(into: MeteredUsage, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  for (const [ours, theirs] of FIELDS) {
    const v = (usage as Record<string, unknown>)[theirs];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) into[ours] = v;
  }
}

/** Collects usage from the message objects of a response; `seen` once any message carried some. */
class UsageCollector {
  readonly usage: MeteredUsage = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
  seen = false;

  /** A whole message (non-streamed answer, or message_start's `message`). */
  message(message: any): void {
    if (typeof message !== 'object' || message === null) return;
    this.seen = true;
    if (typeof message.model === 'string') this.usage.model = message.model;
    apply(this.usage, message.usage);
  }

  /** One parsed SSE event's JSON. */
  event(event: any): void {
    if (event?.type === 'message_start') this.message({ ...event.message, type: 'message' });
    else if (event?.type === 'message_delta') {
      this.seen = true;
      apply(this.usage, event.usage);
    }
  }
}

/** Where the last complete SSE event in `buf` ends (after its blank line), 0 when none has. */
function lastEventEnd(buf: Buffer): number {
  const lf = buf.lastIndexOf('\n\n');
  const crlf = buf.lastIndexOf('\r\n\r\n');
  const cr = buf.lastIndexOf('\r\r');
  return Math.max(lf < 0 ? 0 : lf + 2, crlf < 0 ? 0 : crlf + 4, cr < 0 ? 0 : cr + 2);
}

/** Incremental reader of the SSE events of a streamed Messages response. */
export class SseUsageParser extends UsageCollector {
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser = createParser({
    maxBufferSize: MAX_EVENT_BYTES,
    onEvent: (e: EventSourceMessage) => {
      if (!USAGE_EVENTS.has(e.event)) return;
      try {
        this.event(JSON.parse(e.data));
      } catch {
        // not ours to judge; the client sees the same bytes
      }
    },
    onError: () => this.parser.reset(), // an oversized event: skip it and read on
  });

  /** Bytes after the last event boundary seen (the event still arriving). */
  private partial: Buffer = Buffer.alloc(0);

  /**
   * Only whole events that may carry usage reach the SSE parser: a streamed answer is mostly text deltas, and
   * decoding and parsing every one of them costs the proxy more than forwarding them. Usage events all contain
   * "message_" (in their name or their JSON type); whole events without it are skipped, which leaves the parser
   * at an event boundary, so what it does read is read exactly.
   */
  push(chunk: Buffer): void {
    const buf = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const end = lastEventEnd(buf);
    const whole = buf.subarray(0, end);
    this.partial = buf.subarray(end);
    if (whole.includes('message_')) this.feed(whole);
    // An event this long is not a usage event: drop what came of it and read on from a clean state.
    if (this.partial.length > MAX_EVENT_BYTES) {
      this.partial = Buffer.alloc(0);
      this.parser.reset();
    }
  }

  private feed(bytes: Buffer): void {
    this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }
}

/** What a forwarder shows the meter: every chunk of the body in order, then that the body is over (or cut). */
export interface BodyTap {
  chunk(bytes: Buffer): void;
  end(): void;
}

/** A tap that reads the body's chunks with `read`, through a decoder when upstream compressed them; undefined: unreadable. */
function bodyReader(res: IncomingMessage, read: (chunk: Buffer) => void, done: () => void): BodyTap | undefined {
  const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return { chunk: read, end: done };
  const decoders: Record<string, () => Transform> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };
  const make = decoders[encoding];
  if (!make) return undefined;
  const decoder = make();
  decoder.on('data', read);
  decoder.once('end', done);
  decoder.once('close', done);
  decoder.once('error', done);
  return {
    chunk: (bytes) => void (decoder.writable && decoder.write(bytes)), // not after it failed
    end: () => void (decoder.writable && decoder.end()),
  };
}

/**
 * Meter an upstream response and call `onDone` exactly once when it is over: with what it reported (also for a
 * stream cut short), or with undefined when it reported no usage (an error, a body we cannot read).
 * Returns the tap whoever forwards the body shows it to; the bytes it forwards are never changed.
 */
export function meterResponse(res: IncomingMessage, onDone: (usage: MeteredUsage | undefined) => void): BodyTap {
  let reported = false;
  const report = (usage: MeteredUsage | undefined) => {
    if (!reported) onDone(usage);
    reported = true;
  };
  const type = String(res.headers['content-type'] ?? '');
  const sse = type.includes('text/event-stream');
  const parser = new SseUsageParser();
  const json: Buffer[] = [];
  let jsonBytes = 0;
  const read = (chunk: Buffer) => {
    if (sse) return parser.push(chunk);
    jsonBytes += chunk.length;
    if (jsonBytes <= MAX_JSON_BYTES) json.push(chunk);
  };
  const finish = () => {
    if (reported) return;
    if (!sse && jsonBytes <= MAX_JSON_BYTES) {
      try {
        const body = JSON.parse(Buffer.concat(json).toString('utf8'));
        if (body?.type === 'message') parser.message(body);
      } catch {
        // an error body or truncated JSON carries no usage
      }
    }
    report(parser.seen ? parser.usage : undefined);
  };
  const tap = sse || type.includes('application/json') ? bodyReader(res, read, finish) : undefined;
  return tap ?? { chunk: () => undefined, end: () => report(undefined) };
}
