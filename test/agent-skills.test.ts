// Agent-side skills: the shipped ones are installed into global/.claude/skills once (an owner's edit is kept, a
// deletion stays deleted), and the real SDK in a bubblewrap sandbox offers both the global skills and a group's
// own .claude/skills to the model.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { dataPaths } from '../src/fs/paths.js';
import { installAgentSkills, shippedSkills } from '../src/memory/agent-skills.js';
import { startHarness, type Harness } from './support/harness.js';

const owner = { uid: process.getuid!(), gid: process.getgid!() };

describe('installing the shipped agent skills', () => {
  it('installs each once, keeps an edit, and does not bring back a deleted one', () => {
    const paths = dataPaths(mkdtempSync(join(tmpdir(), 'carapace-skills-')));
    mkdirSync(paths.globalMemory, { recursive: true });
    const shipped = shippedSkills(APP_ROOT).map((s) => s.name).sort();
    expect(shipped).toEqual(['scheduling-well', 'tidy-memory']);
    expect(installAgentSkills(paths, APP_ROOT, owner).sort()).toEqual(shipped);
    const edited = join(paths.globalSkills, 'scheduling-well', 'SKILL.md');
    writeFileSync(edited, '---\nname: scheduling-well\ndescription: mine\n---\nmy own rules\n');
    rmSync(join(paths.globalSkills, 'tidy-memory'), { recursive: true });
    expect(installAgentSkills(paths, APP_ROOT, owner)).toEqual([]);
    expect(readFileSync(edited, 'utf8')).toContain('my own rules');
    expect(existsSync(join(paths.globalSkills, 'tidy-memory'))).toBe(false);
  });

  it('refuses a global skills folder the main agent replaced with a link, and writes nothing through it', () => {
    const paths = dataPaths(mkdtempSync(join(tmpdir(), 'carapace-skills-')));
    const outside = mkdtempSync(join(tmpdir(), 'carapace-outside-'));
    mkdirSync(paths.globalMemory, { recursive: true });
    // the main agent can write global/: it plants .claude as a link to a host directory
    symlinkSync(outside, join(paths.globalMemory, '.claude'));
    expect(() => installAgentSkills(paths, APP_ROOT, owner)).toThrow(/symbolic link/);
    expect(existsSync(join(outside, 'skills'))).toBe(false);
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('skills in the sandbox', () => {
  it("the SDK offers the global skills and the group's own to the model", async () => {
    h = await startHarness();
    const group = h.app.store.listGroups().find((g) => g.isMain)!;
    const own = join(h.dataDir, 'groups', group.folder, '.claude', 'skills', 'house-rules');
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'SKILL.md'), '---\nname: house-rules\ndescription: Use when someone asks about the house rules.\n---\nNo shoes inside.\n');
    await h.say('what can you do?');
    await h.waitForReplies(1);
    const asked = JSON.stringify(h.fake.requests.filter((r) => r.kind === 'main').map((r) => r.body));
    expect(asked).toContain('scheduling-well');
    expect(asked).toContain('tidy-memory');
    expect(asked).toContain('house-rules');
  });
});
