// The one way the host touches agent-writable trees: every refusal kind, ownership through descriptors, and a
// race in which another process keeps swapping a directory for a link while the host writes.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isBelow, isWithin } from '../src/fs/contain.js';
import { giveToSandbox } from '../src/fs/paths.js';
import { APP_ROOT } from '../src/app-root.js';
import { AgentTree, UnsafePathError } from '../src/fs/safe-write.js';

const base = mkdtempSync(join(tmpdir(), 'carapace-safe-write-'));
const root = join(base, 'group');
const outside = join(base, 'host');
const SANDBOX = { uid: 1000, gid: 1000 };
const asRoot = process.getuid?.() === 0;
afterAll(() => rmSync(base, { recursive: true, force: true }));

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'authorized_keys'), 'host keys');
});

/** The refusal `fn` throws, as "path problem". */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafePathError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}
const hostUntouched = () => {
  expect(readdirSync(outside)).toEqual(['authorized_keys']);
  expect(readFileSync(join(outside, 'authorized_keys'), 'utf8')).toBe('host keys');
};

describe('AgentTree', () => {
  it('writes at depth, creating directories owned by the sandbox user', () => {
    const tree = new AgentTree(root, SANDBOX);
    tree.write('media/2026/a.jpg', 'jpeg');
    expect(readFileSync(join(root, 'media/2026/a.jpg'), 'utf8')).toBe('jpeg');
    tree.write('media/2026/a.jpg', 'replaced');
    expect(readFileSync(join(root, 'media/2026/a.jpg'), 'utf8')).toBe('replaced');
    expect(readdirSync(join(root, 'media/2026'))).toEqual(['a.jpg']); // no temp file left behind
    if (asRoot) for (const p of ['media', 'media/2026', 'media/2026/a.jpg']) expect(statSync(join(root, p)).uid).toBe(1000);
    expect(tree.read('media/2026/a.jpg', 100).toString()).toBe('replaced');
  });

  it('refuses a symbolic link at any directory component, for writes, reads and mkdir', () => {
    symlinkSync(outside, join(root, 'conversations'));
    const tree = new AgentTree(root, SANDBOX);
    expect(refusal(() => tree.write('conversations/x.md', 'text'))).toBe('conversations is a symbolic link');
    expect(refusal(() => tree.read('conversations/authorized_keys', 100))).toBe('conversations is a symbolic link');
    expect(refusal(() => tree.write('conversations/sub/x.md', 'x'))).toBe('conversations is a symbolic link');
    mkdirSync(join(root, 'a'));
    symlinkSync(outside, join(root, 'a/b'));
    expect(refusal(() => tree.write('a/b/c/x', 'text'))).toBe('a/b is a symbolic link');
    hostUntouched();
  });

  it('refuses a regular file or a FIFO where a directory should be', () => {
    writeFileSync(join(root, 'conversations'), 'a file');
    execFileSync('mkfifo', [join(root, 'media')]);
    const tree = new AgentTree(root);
    expect(refusal(() => tree.write('conversations/x.md', 'text'))).toBe('conversations exists and is a regular file, not a directory');
    expect(refusal(() => tree.write('media/x.jpg', 'jpeg'))).toBe('media exists and is a FIFO, not a directory');
  });

  it('reads only small regular files: links, FIFOs, directories and oversized files are refused, without blocking', () => {
    symlinkSync(join(outside, 'authorized_keys'), join(root, 'link'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'big'), Buffer.alloc(101));
    const tree = new AgentTree(root);
    expect(refusal(() => tree.read('link', 100))).toBe('link is a symbolic link');
    expect(refusal(() => tree.read('fifo', 100))).toBe('fifo is a FIFO, not a regular file');
    expect(refusal(() => tree.read('dir', 100))).toBe('dir is a directory, not a regular file');
    expect(refusal(() => tree.read('big', 100))).toBe('big is 101 bytes, more than the 100 allowed');
    expect(refusal(() => tree.read('missing', 100))).toBe('missing does not exist');
    expect(refusal(() => tree.read('../host/authorized_keys', 100))).toBe('../host/authorized_keys is not a plain relative path');
  });

  it('replaces a link planted under the file name instead of writing through it', () => {
    mkdirSync(join(root, 'conversations'));
    symlinkSync(join(outside, 'authorized_keys'), join(root, 'conversations/x.md'));
    new AgentTree(root).write('conversations/x.md', 'archive');
    expect(lstatSync(join(root, 'conversations/x.md')).isFile()).toBe(true);
    hostUntouched();
  });

  it('refuses to replace a directory or FIFO planted under the file name, saying what is there', () => {
    mkdirSync(join(root, 'in/00000002.json'), { recursive: true });
    const tree = new AgentTree(root);
    expect(refusal(() => tree.write('in/00000002.json', '{}'))).toBe('in/00000002.json exists and is a directory, not a regular file');
    expect(readdirSync(join(root, 'in'))).toEqual(['00000002.json']); // the temp file is gone again
  });

  it('ifAbsent leaves anything already there alone, even a dangling link, and hands a new file over', () => {
    symlinkSync(join(outside, 'new-file'), join(root, 'CLAUDE.md'));
    const tree = new AgentTree(root, SANDBOX);
    expect(tree.write('CLAUDE.md', 'memory', { ifAbsent: true })).toBe(false);
    expect(existsSync(join(outside, 'new-file'))).toBe(false);
    expect(tree.write('other.md', 'memory', { ifAbsent: true })).toBe(true);
    if (asRoot) expect(statSync(join(root, 'other.md')).uid).toBe(1000);
    hostUntouched();
  });

  it.runIf(asRoot)('as root, never hands a link target to the sandbox user', () => {
    symlinkSync(join(outside, 'authorized_keys'), join(root, 'CLAUDE.md'));
    const before = statSync(join(outside, 'authorized_keys')).uid;
    expect(refusal(() => giveToSandbox(join(root, 'CLAUDE.md'), SANDBOX))).toBe('CLAUDE.md is a symbolic link');
    expect(refusal(() => new AgentTree(root, SANDBOX).chown('CLAUDE.md'))).toBe('CLAUDE.md is a symbolic link');
    expect(statSync(join(outside, 'authorized_keys')).uid).toBe(before);
    giveToSandbox(root, SANDBOX);
    expect(statSync(root).uid).toBe(1000);
  });

  it('a write that fails halfway (the disk full, here a file size limit) leaves no partial file behind', () => {
    // A child with `ulimit -f 4` (4 KiB): its 64 KiB writes fail with EFBIG, as a full disk would fail them.
    const script = `
      const { AgentTree } = await import(${JSON.stringify(join(APP_ROOT, 'dist/src/fs/safe-write.js'))});
      const tree = new AgentTree(${JSON.stringify(root)});
      const big = Buffer.alloc(65536, 97);
      for (const opts of [{}, { ifAbsent: true }]) {
        try { tree.write('media/big.bin', big, opts); console.log('written'); } catch (e) { console.log('failed', e.code); }
      }`;
    const out = execFileSync('sh', ['-c', `ulimit -f 4; exec node --input-type=module -e "$0"`, script]).toString();
    expect(out.trim().split('\n')).toEqual(['failed EFBIG', 'failed EFBIG']);
    expect(readdirSync(join(root, 'media'))).toEqual([]); // no temp file, and no truncated file to be trusted later
  });

  it('nothing lands outside while another process keeps swapping a directory for a link', async () => {
    mkdirSync(join(root, 'media'));
    // media is a real directory, then a link to the host directory, then a real directory again, endlessly.
    const loop = `const fs = require('fs'); process.chdir(${JSON.stringify(root)}); console.log('ready');
      const t = (f) => { try { f(); } catch {} };
      for (;;) { t(() => fs.rmSync('media', { recursive: true, force: true })); t(() => fs.symlinkSync(${JSON.stringify(outside)}, 'media'));
        for (let i = 0; i < 200; i++); t(() => fs.unlinkSync('media')); t(() => fs.mkdirSync('media')); }`;
    const swapper = spawn(process.execPath, ['-e', loop], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => swapper.stdout.once('data', r));
    const tree = new AgentTree(root);
    let written = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 3000; i++) {
        try {
          tree.write(`media/f-${i}.jpg`, 'jpeg');
          written++;
        } catch (err) {
          if (!(err instanceof UnsafePathError)) throw err;
          refused++;
        }
        if (i % 200 === 0) await new Promise((r) => setImmediate(r)); // let the swapper run
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(written + refused).toBe(3000);
    expect(refused).toBeGreaterThan(0); // the race really happened
    hostUntouched();
  });
});

describe('contain', () => {
  it('is one string check: the directory itself or below it, never a sibling with the same prefix', () => {
    expect(isWithin('/workspace/group', '/workspace/group')).toBe(true);
    expect(isWithin('/workspace/group/a', '/workspace/group')).toBe(true);
    expect(isWithin('/workspace/groupx/a', '/workspace/group')).toBe(false);
    expect(isWithin('/a/b', '/')).toBe(true);
    expect(isWithin('/a/b', '/a/')).toBe(true);
    expect(isBelow('/workspace/group', '/workspace/group')).toBe(false);
    expect(isBelow('/workspace/group/x', '/workspace/group')).toBe(true);
  });
});
