// The skills check fails CI when a skill drifts: a command, subcommand or flag that no longer exists, a missing
// file or npm script, bad front matter, or a rehearsed block that fails. The shipped skills pass it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { checkSkills } from '../scripts/check-skills.js';

const run = promisify(execFile);

function skillsDir(skills: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-skills-check-'));
  for (const [name, text] of Object.entries(skills)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'SKILL.md'), text);
  }
  return dir;
}

const skill = (name: string, body: string, description = 'Use when testing that the skills check notices drift.') =>
  `---\nname: ${name}\ndescription: ${description}\n---\n\n${body}\n`;

describe('npm run check:skills', () => {
  it('passes the shipped skills', async () => {
    const report = await checkSkills({ skillsDir: join(APP_ROOT, '.claude', 'skills'), rehearse: false });
    expect(report.skills.filter((s) => s.problems.length > 0)).toEqual([]);
    expect(report.skills.map((s) => s.skill)).toEqual(expect.arrayContaining(['setup', 'sessions', 'update', 'add-telegram', 'add-slack', 'add-discord', 'manage-mounts', 'manage-egress', 'agent-skills/tidy-memory']));
    expect(report.ok).toBe(true);
  });

  it('names every command, subcommand, flag, file and npm script that does not exist', async () => {
    const dir = skillsDir({
      drifted: skill(
        'drifted',
        [
          'Run `carapace frobnicate`, `carapace channel bogus telegram` and `carapace sessions export main --format pdf`.',
          'Edit `src/core/gone.ts`, then `npm run check:gone`. Fine: `carapace groups set family trigger @Bob`, `src/app.ts`.',
          '```bash',
          'carapace tasks run abc --later',
          'carapace doctor   # --nonsense in a comment is not checked',
          'carapace doctor extra',
          '```',
        ].join('\n'),
      ),
    });
    const report = await checkSkills({ skillsDir: dir, rehearse: false });
    const [drifted] = report.skills;
    expect(report.ok).toBe(false);
    expect(drifted.problems).toEqual([
      'line 6: `carapace frobnicate`: no such command (`carapace --help` does not list "frobnicate")',
      'line 6: `carapace channel bogus`: no such command (`carapace channel --help` does not list "bogus")',
      'line 6: `carapace sessions export` has no option --format (not in its --help)',
      'line 9: `carapace tasks run` has no option --later (not in its --help)',
      'line 11: `carapace doctor extra`: no such command (`carapace doctor --help` does not list "extra")',
      'line 7: `npm run check:gone`: package.json has no such script',
      'line 7: src/core/gone.ts does not exist in the repository',
    ]);
  });

  it('checks the front matter Claude Code reads', async () => {
    const dir = skillsDir({
      nameless: '---\ndescription: Use when nothing else fits, a skill without a name.\n---\nbody\n',
      renamed: skill('other-name', 'body'),
      vague: skill('vague', 'body', 'Helps.'),
      broken: '---\nname: [unclosed\n---\nbody\n',
      bare: 'no front matter at all\n',
    });
    const problems = Object.fromEntries((await checkSkills({ skillsDir: dir, rehearse: false })).skills.map((s) => [s.skill, s.problems]));
    expect(problems.nameless).toEqual(['name: lowercase letters, digits and hyphens, at most 64']);
    expect(problems.renamed).toEqual(['name "other-name" differs from its folder "renamed"']);
    expect(problems.vague).toEqual(['description: say what it does and when to use it']);
    expect(problems.broken[0]).toMatch(/^front matter is not valid YAML/);
    expect(problems.bare).toEqual(['no front matter (--- at the top)']);
  });

  it('exits 1 from the command line, so CI fails', async () => {
    const dir = skillsDir({ drifted: skill('drifted', '`carapace sessions list --since yesterday`') });
    const failed = await run(process.execPath, [join(APP_ROOT, 'dist/scripts/check-skills.js'), '--static', '--skills-dir', dir]).catch((err) => err);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('`carapace sessions list` has no option --since');
    expect(failed.stdout).toMatch(/skills: FAILED\n$/);
  });

  it('fails when a rehearsed block fails, and when runnable blocks have no rehearsal', async () => {
    const dir = skillsDir({
      debug: skill('debug', '```bash rehearse\ncarapace status\ncarapace channel pair nosuchchannel\n```'),
      unrehearsed: skill('unrehearsed', '```bash rehearse\ncarapace status\n```'),
    });
    const report = await checkSkills({ skillsDir: dir, rehearse: true });
    expect(report.ok).toBe(false);
    const [rehearsal] = report.rehearsals;
    expect(rehearsal).toMatchObject({ skill: 'debug', ok: false });
    expect(rehearsal.problem).toMatch(/block at line 6 failed \(exit 2\):[\s\S]*No bot channel named "nosuchchannel"/);
    expect(report.skills.find((s) => s.skill === 'unrehearsed')!.problems).toEqual(['runnable blocks but no rehearsal in scripts/skills/scenarios.ts']);
  });
});
