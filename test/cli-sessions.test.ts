// `carapace sessions …` in process, on a real store and transcripts laid out as the SDK writes them: list, show,
// export, clear (archived first), resume, prune (kept readable first), refusals while Carapace runs, and a
// transcript directory the agent turned into links.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/cli/instance-lock.js';
import { loadConfig } from '../src/config.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { cliInProcess } from './support/run-cli.js';

const OLD = '11111111-1111-4111-8111-111111111111';
const NOW = '22222222-2222-4222-8222-222222222222';

let store: Store | undefined;
afterEach(() => {
  store?.db.close();
  store = undefined;
});

const line = (type: string, content: unknown, timestamp: string) => JSON.stringify({ type, timestamp, message: { role: type, content } });

function install() {
  const dataDir = sandboxReadableTempDir('carapace-cli-sessions-');
  const config = loadConfig({ CARAPACE_DATA_DIR: dataDir, CARAPACE_TZ: 'UTC', HOME: join(dataDir, 'home') }, { requireCredentials: false });
  const paths = dataPaths(dataDir);
  store = new Store(openDatabase(paths.db));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  mkdirSync(paths.group('main'), { recursive: true });
  const transcript = (id: string, question: string, answer: string, daysAgo: number) => {
    const file = paths.transcript('main', id);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, [line('user', question, '2026-11-01T10:00:00Z'), line('assistant', [{ type: 'text', text: answer }], '2026-11-01T10:00:05Z'), '{"torn'].join('\n'));
    const t = new Date(Date.now() - daysAgo * 86_400_000);
    utimesSync(file, t, t);
  };
  transcript(OLD, 'what is the capital of France?', 'Paris.', 40);
  transcript(NOW, 'plan my week', 'Here is a plan.', 0);
  store.setSession(main.id, NOW);
  const run = (...argv: string[]) => cliInProcess(config, ...argv);
  return { dataDir, paths, main, run, store: store! };
}

describe('carapace sessions', () => {
  it('lists, shows and exports conversations, the current one marked', async () => {
    const { run, dataDir } = install();
    const listed = JSON.parse((await run('sessions', 'list', 'main', '--json')).stdout);
    expect(listed).toEqual([{ folder: 'main', sessions: [expect.objectContaining({ sessionId: NOW, current: true }), expect.objectContaining({ sessionId: OLD, current: false })] }]);
    const shown = JSON.parse((await run('sessions', 'show', 'main', '1111', '--json')).stdout);
    expect(shown).toMatchObject({ sessionId: OLD, turns: 2, firstAt: '2026-11-01T10:00:00Z', opening: 'what is the capital of France?' });
    const out = join(dataDir, 'old.md');
    expect((await run('sessions', 'export', 'main', OLD, '--output', out)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/## User[^\n]*\n\nwhat is the capital of France\?\n[\s\S]*## Assistant[^\n]*\n\nParis\./);
    expect(await run('sessions', 'show', 'main', '3333')).toMatchObject({ code: 1, stderr: `main has no transcript for session 3333.\n` });
  });

  it('clear archives the conversation into the group folder and forgets it; resume goes back to an earlier one', async () => {
    const { run, store, main, paths } = install();
    const cleared = JSON.parse((await run('sessions', 'clear', 'main', '--json')).stdout);
    expect(cleared).toMatchObject({ group: 'main', cleared: NOW, archive: expect.stringMatching(/^The previous one is saved in conversations\/.*-22222222\.md\.$/) });
    expect(store.sessionOf(main.id)).toBeUndefined();
    const [archived] = readdirSync(join(paths.group('main'), 'conversations'));
    expect(readFileSync(join(paths.group('main'), 'conversations', archived), 'utf8')).toContain('plan my week');
    expect(JSON.parse((await run('sessions', 'resume', 'main', '1111', '--json')).stdout)).toEqual({ group: 'main', resumed: OLD, previous: null });
    expect(store.sessionOf(main.id)).toBe(OLD);
  });

  it('prune keeps a readable copy on the host, then deletes old transcripts but never the current one', async () => {
    const { run, paths } = install();
    expect(JSON.parse((await run('sessions', 'prune', '--older-than', '30', '--dry-run', '--json')).stdout)).toEqual([{ group: 'main', removed: [OLD], archivedTo: paths.archives('main') }]);
    expect(existsSync(paths.transcript('main', OLD))).toBe(true);
    await run('sessions', 'prune', '--older-than', '30');
    expect(existsSync(paths.transcript('main', OLD))).toBe(false);
    expect(existsSync(paths.transcript('main', NOW))).toBe(true);
    expect(readFileSync(join(paths.archives('main'), readdirSync(paths.archives('main'))[0]), 'utf8')).toContain('Paris.');
    expect(await run('sessions', 'prune', '--older-than', 'soon')).toMatchObject({ code: 2, stderr: '--older-than wants a number of days, not "soon"\n' });
  });

  it('while Carapace runs, clear and resume say to use the chat and change nothing; compact always points there', async () => {
    const { run, store, main, dataDir } = install();
    const lock = lockDataDir(dataDir);
    try {
      const refused = await run('sessions', 'clear', 'main');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^Carapace is running: send "\/clear" in the Owner chat/);
      expect((await run('sessions', 'resume', 'main', OLD)).code).toBe(1);
      expect(store.sessionOf(main.id)).toBe(NOW);
    } finally {
      lock.release();
    }
    expect((await run('sessions', 'compact', 'main')).stderr).toMatch(/^Compacting needs the assistant: send "\/compact"/);
    const json = await run('sessions', 'compact', 'main', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ group: 'main', compacted: false, instead: expect.stringContaining('/compact') });
  });

  it('a transcript the agent replaced with a link is neither listed nor read, and a linked projects dir is refused', async () => {
    const { run, paths, dataDir } = install();
    writeFileSync(join(dataDir, 'secret.txt'), 'host secret');
    const planted = paths.transcript('main', '33333333-3333-4333-8333-333333333333');
    symlinkSync(join(dataDir, 'secret.txt'), planted);
    const listed = JSON.parse((await run('sessions', 'list', 'main', '--json')).stdout);
    expect(listed[0].sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([NOW, OLD]);
    expect((await run('sessions', 'export', 'main', '3333')).code).toBe(1);
    const projects = join(paths.agentState('main'), 'projects');
    const real = join(dataDir, 'elsewhere');
    renameSync(projects, real);
    symlinkSync(real, projects);
    const refused = await run('sessions', 'list', 'main');
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('projects is a symbolic link') });
  });
});
