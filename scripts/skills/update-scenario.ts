// The update skill, rehearsed twice on real git repositories cloned from this checkout: a copy with a local
// customisation takes a synthetic upstream commit (merged, checked, kept), and takes a broken one (rolled back to
// exactly where it was). The check the update runs is a type check, which the broken commit fails.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ROOT } from '../../src/app-root.js';
import { must, type Scenario } from './rehearse.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const TSC_FLAGS = '--strict --target es2022 --module nodenext --moduleResolution nodenext --skipLibCheck --types node';
/** The user's git identity (a clean CI machine has none), which the merge commit needs. */
const IDENTITY = { GIT_AUTHOR_NAME: 'Owner', GIT_AUTHOR_EMAIL: 'owner@example.invalid', GIT_COMMITTER_NAME: 'Owner', GIT_COMMITTER_EMAIL: 'owner@example.invalid' };
const commitAs = ['-c', 'user.name=Rehearsal', '-c', 'user.email=rehearsal@example.invalid', 'commit', '-qam'];

/** upstream.git (this checkout's HEAD), the user's copy with one customisation, and a second clone to push from. */
function repositories(work: string, upstreamChange: { file: string; line: string; message: string }) {
  mkdirSync(work, { recursive: true });
  const upstream = join(work, 'upstream.git');
  git(work, 'clone', '-q', '--bare', APP_ROOT, upstream);
  const copy = join(work, 'copy');
  git(work, 'clone', '-q', '--origin', 'upstream', upstream, copy);
  symlinkSync(join(APP_ROOT, 'node_modules'), join(copy, 'node_modules'));
  appendFileSync(join(copy, 'src/memory/templates.ts'), '\n// local: my assistant signs with a crab\nexport const SIGNATURE = "🦀";\n');
  git(copy, ...commitAs, 'local: a signature');
  const maintainer = join(work, 'maintainer');
  git(work, 'clone', '-q', upstream, maintainer);
  appendFileSync(join(maintainer, upstreamChange.file), upstreamChange.line);
  git(maintainer, ...commitAs, upstreamChange.message);
  git(maintainer, 'push', '-q', 'origin', `HEAD:${git(copy, 'rev-parse', '--abbrev-ref', 'HEAD')}`);
  return { copy, before: git(copy, 'rev-parse', 'HEAD'), branch: git(copy, 'rev-parse', '--abbrev-ref', 'HEAD') };
}

interface UpdateCase {
  title: string;
  change: { file: string; line: string; message: string };
  /** The blocks that must fail (the update itself, when it is rolled back). */
  expectFailure?: number[];
  verify(copy: string, before: string): void;
}

function updateCase({ title, change, expectFailure, verify }: UpdateCase): Scenario {
  return {
    skill: 'update',
    title,
    async prepare(work) {
      const { copy, before, branch } = repositories(work, change);
      return {
        // the whole suite is the default; here the type check of the files both sides touch, to keep CI short
        env: { ...IDENTITY, CARAPACE_UPSTREAM_BRANCH: branch, CARAPACE_UPDATE_TEST: `npx tsc --noEmit ${TSC_FLAGS} src/time.ts src/memory/templates.ts` },
        cwd: copy,
        expectFailure,
        verify: async () => {
          verify(copy, before);
          must(git(copy, 'status', '--porcelain', '--untracked-files=no') === '', 'the copy has uncommitted leftovers');
        },
        close: async () => {},
      };
    },
  };
}

const read = (copy: string, file: string) => readFileSync(join(copy, file), 'utf8');

export function updateScenario(): Scenario[] {
  const merged = updateCase({
    title: 'an upstream commit is merged into a customised copy and checked',
    change: { file: 'src/time.ts', line: '\n// upstream: a helpful comment\n', message: 'upstream: a comment' },
    verify(copy, before) {
      must(git(copy, 'rev-parse', 'HEAD^1') === before, 'HEAD is not a merge on top of the customised copy');
      must(read(copy, 'src/memory/templates.ts').includes('SIGNATURE'), 'the customisation was lost');
      must(read(copy, 'src/time.ts').includes('upstream: a helpful comment'), "upstream's change is missing");
    },
  });
  const rolledBack = updateCase({
    title: 'a broken upstream commit is rolled back, leaving the copy as it was',
    change: { file: 'src/time.ts', line: '\nexport const broken: number = "not a number";\n', message: 'upstream: broken' },
    expectFailure: [1],
    verify(copy, before) {
      must(git(copy, 'rev-parse', 'HEAD') === before, 'the copy was not rolled back to its previous commit');
      must(!read(copy, 'src/time.ts').includes('broken'), 'the broken change is still there');
    },
  });
  return [merged, rolledBack];
}
