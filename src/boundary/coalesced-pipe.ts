// Forwarding a streamed model answer without paying per event: upstream sends one tiny HTTP chunk per SSE event
// (a text delta is ~130 bytes), and piping them one by one re-frames and writes each on its own — the proxy then
// spends more time on framing, syscalls and garbage than on moving bytes. Everything one socket read delivered
// is written onward as one chunk instead, in the same tick, so nothing waits.
import type { Readable, Writable } from 'node:stream';

/** Pipe `from` into `to`, joining the chunks that arrive together; keeps backpressure; a cut source cuts `to`. */
export function pipeCoalesced(from: Readable, to: Writable): void {
  let held: Buffer[] = [];
  let scheduled = false;
  let ended = false;
  const flush = () => {
    scheduled = false;
    if (held.length === 0 || to.destroyed) return;
    const chunk = held.length === 1 ? held[0] : Buffer.concat(held);
    held = [];
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  };
  from.on('data', (chunk: Buffer) => {
    held.push(chunk);
    if (!scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  });
  from.on('end', () => {
    ended = true;
    flush();
    to.end();
  });
  from.on('close', () => {
    if (ended) return;
    flush(); // what did arrive still reaches the client, then it sees the cut
    to.destroy();
  });
}
