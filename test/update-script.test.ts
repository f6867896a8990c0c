// scripts/update.sh on small real git repositories: it refuses uncommitted changes, and a merge that conflicts
// with the user's change leaves the copy exactly where it was (the rehearsal covers a clean merge and a failing
// check, on a clone of Carapace itself).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';

const IDENTITY = { GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid' };
const env = { ...process.env, ...IDENTITY, CARAPACE_UPSTREAM_BRANCH: 'main', CARAPACE_UPDATE_TEST: 'true' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

/** An upstream with one file, the user's copy (with update.sh) and a maintainer clone to push from. */
function repos() {
  const work = mkdtempSync(join(tmpdir(), 'carapace-update-'));
  const seed = join(work, 'seed');
  mkdirSync(join(seed, 'scripts'), { recursive: true });
  copyFileSync(join(APP_ROOT, 'scripts/update.sh'), join(seed, 'scripts/update.sh'));
  writeFileSync(join(seed, 'persona.txt'), 'helpful\n');
  git(seed, 'init', '-q', '-b', 'main');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-qm', 'start');
  git(work, 'clone', '-q', '--bare', seed, join(work, 'upstream.git'));
  git(work, 'clone', '-q', '--origin', 'upstream', join(work, 'upstream.git'), join(work, 'copy'));
  git(work, 'clone', '-q', join(work, 'upstream.git'), join(work, 'maintainer'));
  const copy = join(work, 'copy');
  const maintainer = join(work, 'maintainer');
  return { copy, maintainer };
}

const update = (copy: string) => spawnSync('scripts/update.sh', [], { cwd: copy, env, encoding: 'utf8' });

describe('scripts/update.sh', () => {
  it('refuses to start with uncommitted changes, and says how to go on', () => {
    const { copy } = repos();
    writeFileSync(join(copy, 'persona.txt'), 'grumpy\n');
    const r = update(copy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('update: uncommitted changes; commit them (they are your customisation) or stash them');
    expect(readFileSync(join(copy, 'persona.txt'), 'utf8')).toBe('grumpy\n');
  });

  it('a conflicting upstream change leaves the copy exactly as it was, naming the file', () => {
    const { copy, maintainer } = repos();
    writeFileSync(join(copy, 'persona.txt'), 'grumpy\n');
    git(copy, 'commit', '-qam', 'local: grumpy');
    const before = git(copy, 'rev-parse', 'HEAD');
    writeFileSync(join(maintainer, 'persona.txt'), 'cheerful\n');
    git(maintainer, 'commit', '-qam', 'upstream: cheerful');
    git(maintainer, 'push', '-q', 'origin', 'HEAD:main');
    const r = update(copy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the merge conflicts with your changes in: persona.txt');
    expect(git(copy, 'rev-parse', 'HEAD')).toBe(before);
    expect(git(copy, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(copy, 'persona.txt'), 'utf8')).toBe('grumpy\n');
  });

  it('with nothing new upstream, says so and changes nothing', () => {
    const { copy } = repos();
    const r = update(copy);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('update: already up to date with upstream/main\n');
  });
});
