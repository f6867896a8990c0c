// Forwarding a streamed model answer without paying per event: upstream sends one tiny HTTP chunk per SSE event
// (a text delta is ~130 bytes), and handling them one by one (a 'data' event, listener calls, a write with its
// own chunk framing each) costs the proxy more than moving the bytes. The source is read in paused mode instead:
// the HTTP parser only queues the chunks of a socket read, and one read() takes them all as one buffer, which
// is shown to the meter and written onward once.
import type { Readable, Writable } from 'node:stream';
import type { BodyTap } from './usage-meter.js';

/**
 * Pipe `from` into `to` a socket read at a time, showing each joined chunk to `tap` (the usage meter) first and
 * telling it when the body is over. Keeps backpressure; a source cut short still delivers what arrived, then cuts `to`.
 */
export function pipeCoalesced(from: Readable, to: Writable, tap?: BodyTap): void {
  let waiting = false; // for `to` to drain
  const pump = () => {
    let chunk: Buffer | null;
    while (!waiting && (chunk = from.read()) !== null) {
      tap?.chunk(chunk);
      if (to.destroyed) continue; // the client left: the meter still reads what arrived
      if (!to.write(chunk)) {
        waiting = true;
        to.once('drain', () => {
          waiting = false;
          pump();
        });
      }
    }
  };
  from.on('readable', pump);
  from.on('end', () => to.end());
  from.on('close', () => {
    if (!from.readableEnded) {
      waiting = false;
      pump(); // what did arrive still reaches the client (and the meter), then the client sees the cut
      to.destroy();
    }
    tap?.end();
  });
}
