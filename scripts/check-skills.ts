// `npm run check:skills`: the skills in .claude/skills must stay true to the code. Each has valid front matter;
// every `carapace …` command, subcommand and flag it names exists (`--help` succeeds and lists the flag); every
// repository path and `npm run` script it names exists; and its runnable blocks (```bash rehearse) run in order
// against a temporary install (scripts/skills/scenarios.ts). The shipped agent skills' front matter is checked too.
// Usage: node dist/scripts/check-skills.js [--static] [--only <skill>] [--skills-dir <dir>] [--json]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_ROOT } from '../src/app-root.js';
import { checkCommand } from './skills/commands.js';
import { commandMentions, frontMatterProblems, npmScriptMentions, parseSkill, pathMentions, RUNNABLE_INFO, type SkillDoc } from './skills/parse.js';
import { rehearse, type RehearsalResult } from './skills/rehearse.js';

export interface SkillReport {
  skill: string;
  file: string;
  problems: string[];
}

export interface SkillsReport {
  skills: SkillReport[];
  rehearsals: RehearsalResult[];
  ok: boolean;
}

interface Options {
  skillsDir: string;
  rehearse: boolean;
  only?: string;
}

function skillFolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Everything a skill names that can be checked without running it. */
export async function checkSkill(dir: string, folder: string, scripts: Record<string, string>): Promise<SkillReport & { doc: SkillDoc }> {
  const file = join(dir, folder, 'SKILL.md');
  if (!existsSync(file)) return { skill: folder, file, problems: ['no SKILL.md'], doc: parseSkill('') };
  const doc = parseSkill(readFileSync(file, 'utf8'));
  return { skill: folder, file, problems: [...frontMatterProblems(doc, folder), ...(await namedThingsProblems(doc, scripts))], doc };
}

/** The commands, flags, npm scripts and repository paths a document names that do not exist. */
async function namedThingsProblems(doc: SkillDoc, scripts: Record<string, string>): Promise<string[]> {
  const report = { problems: [] as string[] };
  const seen = new Set<string>();
  for (const mention of commandMentions(doc)) {
    if (seen.has(mention.text)) continue;
    seen.add(mention.text);
    const check = await checkCommand(mention.text);
    report.problems.push(...check.problems.map((p) => `line ${mention.line}: ${p}`));
  }
  for (const script of npmScriptMentions(doc)) {
    if (!scripts[script.text]) report.problems.push(`line ${script.line}: \`npm run ${script.text}\`: package.json has no such script`);
  }
  for (const path of pathMentions(doc)) {
    if (!existsSync(join(APP_ROOT, path.text))) report.problems.push(`line ${path.line}: ${path.text} does not exist in the repository`);
  }
  return report.problems;
}

export async function checkSkills(opts: Options): Promise<SkillsReport> {
  const { scripts } = JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const { SCENARIOS } = await import('./skills/scenarios.js');
  const folders = skillFolders(opts.skillsDir).filter((f) => !opts.only || f === opts.only);
  const skills: SkillReport[] = [];
  const rehearsals: RehearsalResult[] = [];
  const work = mkdtempSync(join(tmpdir(), 'carapace-skills-'));
  try {
    for (const folder of folders) {
      const { doc, ...report } = await checkSkill(opts.skillsDir, folder, scripts);
      const runnable = doc.blocks.filter((b) => b.info === RUNNABLE_INFO);
      const scenarios = SCENARIOS.filter((s) => s.skill === folder);
      if (runnable.length > 0 && scenarios.length === 0) report.problems.push(`runnable blocks but no rehearsal in scripts/skills/scenarios.ts`);
      if (runnable.length === 0 && scenarios.length > 0) report.problems.push('a rehearsal but no runnable blocks (```bash rehearse)');
      skills.push(report);
      if (!opts.rehearse || report.problems.length > 0) continue;
      for (const [i, scenario] of scenarios.entries()) rehearsals.push(await rehearse(scenario, runnable, join(work, `${folder}-${i}`)));
    }
    if (!opts.only) {
      // CLAUDE.md tells Claude Code the commands and paths too: it must not drift either
      const problems = await namedThingsProblems(parseSkill(readFileSync(join(APP_ROOT, 'CLAUDE.md'), 'utf8')), scripts);
      skills.push({ skill: 'CLAUDE.md', file: 'CLAUDE.md', problems });
    }
    for (const folder of opts.only ? [] : skillFolders(join(APP_ROOT, 'agent-skills'))) {
      const doc = parseSkill(readFileSync(join(APP_ROOT, 'agent-skills', folder, 'SKILL.md'), 'utf8'));
      skills.push({ skill: `agent-skills/${folder}`, file: join('agent-skills', folder, 'SKILL.md'), problems: frontMatterProblems(doc, folder) });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const ok = skills.every((s) => s.problems.length === 0) && rehearsals.every((r) => r.ok || r.skipped);
  return { skills, rehearsals, ok };
}

export function renderReport(report: SkillsReport): string {
  const lines: string[] = [];
  for (const s of report.skills) {
    lines.push(`${s.problems.length ? 'FAIL' : 'ok  '} ${s.skill}`);
    for (const p of s.problems) lines.push(`       ${p}`);
  }
  for (const r of report.rehearsals) {
    const status = r.skipped ? 'SKIP' : r.ok ? 'ok  ' : 'FAIL';
    lines.push(`${status} rehearsal ${r.skill}: ${r.title} (${(r.ms / 1000).toFixed(1)} s, ${r.blocks.length} blocks)${r.skipped ? `: ${r.skipped}` : ''}`);
    if (r.problem) lines.push(r.problem.split('\n').map((l) => `       ${l}`).join('\n'));
  }
  lines.push(report.ok ? 'skills: ok' : 'skills: FAILED');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const report = await checkSkills({
    skillsDir: value('--skills-dir') ?? join(APP_ROOT, '.claude', 'skills'),
    rehearse: !argv.includes('--static'),
    only: value('--only'),
  });
  process.stdout.write(argv.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
