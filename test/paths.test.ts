import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertFolderName, assertSandboxCanReach, dataPaths } from '../src/fs/paths.js';

describe('group folder names', () => {
  it('accepts plain names', () => {
    for (const ok of ['main', 'family-chat', 'team_2', 'A1']) expect(assertFolderName(ok)).toBe(ok);
  });

  it('rejects anything that could leave the groups directory or hide', () => {
    for (const bad of ['', '.', '..', '../etc', 'a/b', '/abs', 'a\\b', '.hidden', '-rf', 'x'.repeat(65), 'name\0', 'sp ace', 'ünï']) {
      expect(() => assertFolderName(bad), bad).toThrow(/Invalid group folder name/);
    }
    expect(() => dataPaths('/data').group('../../root')).toThrow(/Invalid group folder name/);
    expect(() => dataPaths('/data').agentState('..')).toThrow(/Invalid group folder name/);
  });
});

describe.runIf(process.getuid?.() === 0)('sandbox reachability (as root)', () => {
  it('names the directory that blocks the sandbox uid', () => {
    const top = mkdtempSync(join(tmpdir(), 'carapace-reach-'));
    const inner = join(top, 'data');
    mkdirSync(inner);
    chmodSync(top, 0o700);
    expect(() => assertSandboxCanReach(inner, { uid: 1000, gid: 1000 })).toThrow(`${top} is not searchable`);
    chmodSync(top, 0o711);
    expect(() => assertSandboxCanReach(inner, { uid: 1000, gid: 1000 })).not.toThrow();
  });
});
