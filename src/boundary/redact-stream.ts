import { Transform, type TransformCallback } from 'node:stream';

/** Replace every `needle` (byte strings) in text with its `replacement`. */
export function redactText(text: string, pairs: readonly (readonly [string, string])[]): string {
  return pairs.reduce((t, [needle, replacement]) => t.split(needle).join(replacement), text);
}

/**
 * A stream that replaces each needle with its replacement, also when a needle is split across chunks: it holds
 * back the last (longest needle − 1) bytes until more arrives or the stream ends.
 */
export function redactStream(pairs: readonly (readonly [string, string])[]): Transform {
  const needles = pairs.map(([n, r]) => [Buffer.from(n), Buffer.from(r)] as const).filter(([n]) => n.length > 0);
  const keep = Math.max(0, ...needles.map(([n]) => n.length - 1));
  let pending: Buffer = Buffer.alloc(0);
  const replaceAll = (buf: Buffer) =>
    needles.reduce((b, [n, r]) => {
      const parts: Buffer[] = [];
      let at = 0;
      for (let i = b.indexOf(n); i !== -1; i = b.indexOf(n, at)) {
        parts.push(b.subarray(at, i), r);
        at = i + n.length;
      }
      return at === 0 ? b : Buffer.concat([...parts, b.subarray(at)]);
    }, buf);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const all = replaceAll(Buffer.concat([pending, chunk]));
      // Nothing replaced can start in the held-back tail: a needle there would be incomplete.
      const cut = Math.max(0, all.length - keep);
      pending = all.subarray(cut);
      done(null, all.subarray(0, cut));
    },
    flush(done: TransformCallback) {
      done(null, replaceAll(pending));
    },
  });
}
