// Reads token usage out of a Messages API response as it streams past, without touching the bytes the client
// gets: the proxy pipes the response on unchanged and feeds a copy of each chunk here.
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { TokenUsage } from '../store/store.js';

export type MeteredUsage = TokenUsage & { model?: string };

const MAX_JSON_BYTES = 8 * 1024 * 1024;
const FIELDS: [keyof TokenUsage, string][] = [
  ['inputTokens', 'input_tokens'],
  ['outputTokens', 'output_tokens'],
  ['cacheCreationInputTokens', 'cache_creation_input_tokens'],
  ['cacheReadInputTokens', 'cache_read_input_tokens'],
];

/** Usage counts in an API object override what we have (message_delta carries cumulative counts). */
function apply(into: MeteredUsage, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  for (const [ours, theirs] of FIELDS) {
    const v = (usage as Record<string, unknown>)[theirs];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) into[ours] = v;
  }
}

/** Incremental parser for the SSE events of a streamed Messages response. */
export class SseUsageParser {
  readonly usage: MeteredUsage = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
  seen = false;
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private readonly decoder = new TextDecoder();

  push(chunk: Buffer): void {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n', start)) >= 0) {
      const end = nl > start && this.buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // CRLF
      const line = this.buffer.slice(start, end);
      start = nl + 1;
      if (line === '') this.dispatch();
      else if (line.startsWith('data:') && this.wanted()) this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      else if (line.startsWith('event:')) this.event = line.slice(6).trim();
    }
    this.buffer = this.buffer.slice(start);
  }

  /** Only the two usage-bearing events are read (an unnamed one might be either); text deltas are skipped cheaply. */
  private wanted(): boolean {
    return this.event === '' || this.event === 'message_start' || this.event === 'message_delta';
  }

  private dispatch(): void {
    this.event = '';
    if (this.data.length === 0) return;
    const raw = this.data.join('\n');
    this.data = [];
    let event: any;
    try {
      event = JSON.parse(raw);
    } catch {
      return; // not ours to judge; the client sees the same bytes
    }
    if (event?.type === 'message_start') {
      this.seen = true;
      if (typeof event.message?.model === 'string') this.usage.model = event.message.model;
      apply(this.usage, event.message?.usage);
    } else if (event?.type === 'message_delta') {
      this.seen = true;
      apply(this.usage, event.usage);
    }
  }
}

/**
 * Watch an upstream response and call `onUsage` once with what it reported (also for a stream cut short).
 * Only attaches listeners: whoever pipes `res` onward still gets every byte unchanged.
 */
export function meterResponse(res: IncomingMessage, onUsage: (u: MeteredUsage) => void): void {
  const type = String(res.headers['content-type'] ?? '');
  const sse = type.includes('text/event-stream');
  if (!sse && !type.includes('application/json')) return;
  const parser = new SseUsageParser();
  const json: Buffer[] = [];
  let jsonBytes = 0;
  const consume = (chunk: Buffer) => {
    if (sse) return parser.push(chunk);
    jsonBytes += chunk.length;
    if (jsonBytes <= MAX_JSON_BYTES) json.push(chunk);
  };
  let reported = false;
  const finish = () => {
    if (reported) return;
    reported = true;
    if (!sse && jsonBytes <= MAX_JSON_BYTES) {
      try {
        const body = JSON.parse(Buffer.concat(json).toString('utf8'));
        if (body?.type === 'message') {
          parser.seen = true;
          if (typeof body.model === 'string') parser.usage.model = body.model;
          apply(parser.usage, body.usage);
        }
      } catch {
        // an error body or truncated JSON carries no usage
      }
    }
    if (parser.seen) onUsage(parser.usage);
  };

  const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
  const decoders: Record<string, () => Writable & NodeJS.ReadableStream> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };
  if (encoding === 'identity') {
    res.on('data', consume);
    res.on('end', finish);
    res.on('close', finish);
    return;
  }
  const make = decoders[encoding];
  if (!make) return; // an encoding we cannot read: the call goes unmetered rather than broken
  const decoder = make();
  decoder.on('data', consume);
  decoder.on('end', finish);
  decoder.on('error', finish);
  let ended = false;
  const endDecoder = () => {
    if (ended) return;
    ended = true;
    decoder.end();
  };
  res.on('data', (c: Buffer) => decoder.write(c));
  res.on('end', endDecoder);
  res.on('close', endDecoder);
}
