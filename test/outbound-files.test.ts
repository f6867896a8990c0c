// send_file's boundary: only regular files inside the group's own folder are copied out, reached without
// following any symlink the agent planted; the copy is what gets sent.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spoolGroupFile } from '../src/boundary/outbound-files.js';

describe('send_file spooling', () => {
  const root = mkdtempSync(join(tmpdir(), 'carapace-spool-'));
  const group = join(root, 'groups', 'family');
  const other = join(root, 'groups', 'main');
  const spool = join(root, 'outbox-files');
  mkdirSync(join(group, 'out'), { recursive: true });
  mkdirSync(other, { recursive: true });
  writeFileSync(join(group, 'out', 'chart.png'), 'PNG');
  writeFileSync(join(other, 'secret.txt'), 'top secret');
  symlinkSync(join(other, 'secret.txt'), join(group, 'link.txt'));
  symlinkSync(other, join(group, 'maindir'));
  symlinkSync(join(group, 'out', 'chart.png'), join(group, 'inside-link.png'));

  it('copies a file named by sandbox path or relative path', () => {
    const a = spoolGroupFile(group, '/workspace/group/out/chart.png', spool, 'r1-1');
    expect(a.name).toBe('chart.png');
    expect(a.path).toBe(join(spool, 'r1-1-chart.png'));
    expect(readFileSync(a.path, 'utf8')).toBe('PNG');
    const b = spoolGroupFile(group, 'out/../out/chart.png', spool, 'r1-2');
    expect(readFileSync(b.path, 'utf8')).toBe('PNG');
  });

  it('refuses anything outside the folder, through paths or symlinks, and non-files', () => {
    const refused: [string, RegExp][] = [
      ['/etc/passwd', /outside your folder \(\/workspace\/group\)/],
      ['/workspace/groupx/a', /outside your folder/],
      ['../main/secret.txt', /outside your folder/],
      ['link.txt', /^link\.txt is a symbolic link$/],
      ['maindir/secret.txt', /^maindir\/secret\.txt: maindir is a symbolic link$/],
      // No link is followed, not even one that stays inside: the target could be swapped after the check.
      ['inside-link.png', /^inside-link\.png is a symbolic link$/],
      ['missing.txt', /does not exist/],
      ['out', /^out is a directory, not a regular file$/],
      ['/workspace/group', /outside your folder/],
    ];
    for (const [path, message] of refused) expect(() => spoolGroupFile(group, path, spool, 'x'), path).toThrow(message);
  });
});
