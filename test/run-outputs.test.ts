// Reading sandbox-written output files as the untrusted input they are.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_BYTES } from '../src/ipc/protocol.js';
import { readOutputFile, setAside } from '../src/core/run-outputs.js';

const base = mkdtempSync(join(tmpdir(), 'carapace-out-'));
const out = join(base, 'out');
const rejected = join(base, 'rejected');
mkdirSync(out);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('run outputs', () => {
  it('accepts a well-formed output', () => {
    writeFileSync(join(out, 'ok.json'), JSON.stringify({ type: 'message', seq: 3, text: 'hi', chatId: 'ignored:extra' }));
    expect(readOutputFile(join(out, 'ok.json'))).toEqual({ ok: true, output: { type: 'message', seq: 3, text: 'hi' } });
  });

  it('refuses links, FIFOs, directories, oversized, non-JSON and ill-shaped files, each with its reason', () => {
    const hostSecret = join(base, 'host-secret.json');
    writeFileSync(hostSecret, JSON.stringify({ type: 'message', seq: 1, text: 'host file contents' }));
    symlinkSync(hostSecret, join(out, 'link.json'));
    execFileSync('mkfifo', [join(out, 'fifo.json')]);
    mkdirSync(join(out, 'dir.json'));
    writeFileSync(join(out, 'big.json'), JSON.stringify({ type: 'message', seq: 1, text: 'x'.repeat(MAX_OUTPUT_BYTES) }));
    writeFileSync(join(out, 'bad.json'), '{"type":"message",');
    writeFileSync(join(out, 'shape.json'), JSON.stringify({ type: 'launch_missiles', seq: 1 }));
    // A session id later names the transcript file on the host: a path in its place is refused here.
    writeFileSync(join(out, 'session.json'), JSON.stringify({ type: 'session', seq: 1, sessionId: '../../../etc/passwd' }));
    const reason = (name: string) => {
      const r = readOutputFile(join(out, name));
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason('link.json')).toBe('is a symbolic link');
    expect(reason('fifo.json')).toBe('is a FIFO, not a regular file'); // and it returned: a FIFO cannot stall the host
    expect(reason('dir.json')).toBe('is a directory, not a regular file');
    expect(reason('big.json')).toMatch(/bytes, more than the 1048576 allowed/);
    expect(reason('bad.json')).toMatch(/^is not JSON/);
    expect(reason('shape.json')).toMatch(/^is not a valid output/);
    expect(reason('session.json')).toMatch(/^is not a valid output[\s\S]*sessionId/);
  });

  it('sets a refused file aside with the reason logged, moving the entry itself (never its target)', () => {
    const lines: any[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    setAside(join(out, 'link.json'), 'link.json', 'r1', rejected, 'link.json is a symbolic link', log);
    expect(existsSync(join(out, 'link.json'))).toBe(false);
    const [kept] = readdirSync(rejected);
    expect(kept).toMatch(/^r1-link\.json-[0-9a-f]{6}$/);
    expect(lstatSync(join(rejected, kept)).isSymbolicLink()).toBe(true);
    expect(existsSync(join(base, 'host-secret.json'))).toBe(true);
    expect(lines[0]).toMatchObject({ run: 'r1', file: 'link.json', reason: 'link.json is a symbolic link', msg: 'run output refused and set aside' });
    rmSync(rejected, { recursive: true });
  });

  it('sets the same name aside twice (a non-empty directory planted again): both move, nothing is deleted by path', () => {
    const log = pino({ level: 'silent' });
    for (const round of [1, 2]) {
      mkdirSync(join(out, 'again.json/sub'), { recursive: true });
      writeFileSync(join(out, 'again.json/sub/f'), `round ${round}`);
      setAside(join(out, 'again.json'), 'again.json', 'r2', rejected, 'again.json is a directory', log);
      expect(existsSync(join(out, 'again.json'))).toBe(false);
    }
    expect(readdirSync(rejected).filter((f) => f.startsWith('r2-again.json-'))).toHaveLength(2);
  });
});
