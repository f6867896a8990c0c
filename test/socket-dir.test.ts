// A killed Carapace leaves its socket folder in the temp folder; the next start of the same install removes it,
// and never touches another install's.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freshSocketDir } from '../src/core/recovery.js';

const prefixOf = (install: string) => `carapace-${createHash('sha256').update(install).digest('hex').slice(0, 8)}-`;

it('removes the socket folders a killed process of the same install left, and only those', () => {
  const mine = `test-install-${process.pid}-a`;
  const theirs = `test-install-${process.pid}-b`;
  const stale = join(tmpdir(), `${prefixOf(mine)}killed`);
  const other = join(tmpdir(), `${prefixOf(theirs)}alive`);
  for (const dir of [stale, other]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.model.sock'), '');
  }
  const fresh = freshSocketDir(mine);
  try {
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(fresh.startsWith(join(tmpdir(), prefixOf(mine)))).toBe(true);
    expect(statSync(fresh).mode & 0o777).toBe(0o711);
  } finally {
    for (const dir of [fresh, other]) rmSync(dir, { recursive: true, force: true });
  }
});
