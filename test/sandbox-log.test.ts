// A sandbox's own output (the runner's and Claude Code's stderr) is read line by line into the run's log. It comes
// from inside the sandbox, so a line without an end must not grow the host's memory or its work per chunk.
import { describe, expect, it } from 'vitest';
import { lineSplitter } from '../src/core/sandbox-log.js';

describe('lineSplitter', () => {
  const split = (chunks: (string | Buffer)[], max?: number) => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l), max);
    for (const c of chunks) feed(Buffer.isBuffer(c) ? c : Buffer.from(c));
    return lines;
  };

  it('gives whole lines across chunks, multi-byte characters included', () => {
    const euro = Buffer.from('€');
    expect(split(['one\ntw', 'o\n', euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('\n\nrest')])])).toEqual(['one', 'two', '€', '']);
  });

  it('cuts a line longer than the limit and drops the rest of it up to its newline', () => {
    const lines = split(['x'.repeat(25), 'y'.repeat(30), 'z\nnext\n'], 10);
    expect(lines).toEqual(['xxxxxxxxxx… (cut: longer than 10 characters)', 'next']);
  });

  it('40 MB without a newline, in pipe-sized chunks, gives one cut line at the default limit', () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const lines = split([...Array.from({ length: 610 }, () => chunk), Buffer.from('\nafter\n')]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^x{16384}… \(cut: longer than 16384 characters\)$/);
    expect(lines[1]).toBe('after');
  });
});
