// Skills every agent sees: Carapace ships a few (agent-skills/ in the checkout) and installs each into the data
// directory's global/.claude/skills once. The owner may edit or delete them afterwards: an installed skill is recorded
// in a host-only list and never written again, so an edit is kept and a deletion stays deleted.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataPaths } from '../fs/paths.js';
import { AgentTree, type Owner } from '../fs/safe-write.js';

/** The skills the orchestrator installs, as shipped in the checkout. */
export function shippedSkills(appRoot: string): { name: string; text: string }[] {
  const dir = join(appRoot, 'agent-skills');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'SKILL.md')))
    .map((e) => ({ name: e.name, text: readFileSync(join(dir, e.name, 'SKILL.md'), 'utf8') }));
}

/** Install the shipped skills not installed before; returns the names installed now. */
export function installAgentSkills(paths: DataPaths, appRoot: string, owner: Owner): string[] {
  const record = paths.installedAgentSkills;
  const done = new Set<string>(existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as string[]) : []);
  const global = new AgentTree(paths.globalMemory, owner);
  const installed: string[] = [];
  for (const { name, text } of shippedSkills(appRoot)) {
    if (done.has(name)) continue;
    // ifAbsent: a SKILL.md the owner wrote under the same name before this release wins
    if (global.write(`.claude/skills/${name}/SKILL.md`, text, { ifAbsent: true })) installed.push(name);
    done.add(name);
  }
  writeFileSync(record, `${JSON.stringify([...done].sort())}\n`, { mode: 0o600 });
  return installed;
}
