// `carapace groups …` in process, on a real store: the same schema as update_group, with clear errors.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { cliInProcess } from './support/run-cli.js';

let store: Store | undefined;
afterEach(() => {
  store?.db.close();
  store = undefined;
});

function install() {
  const dataDir = sandboxReadableTempDir('carapace-cli-groups-');
  const config = loadConfig({ CARAPACE_DATA_DIR: dataDir, CARAPACE_TZ: 'UTC', HOME: join(dataDir, 'home') }, { requireCredentials: false });
  store = new Store(openDatabase(dataPaths(dataDir).db));
  const add = (folder: string, isMain = false) =>
    store!.registerGroup({ channel: 'local', chatId: `local:${folder}`, name: folder, folder, trigger: '@Andy', requiresTrigger: true, isMain });
  add('main', true);
  const club = add('club');
  const run = (...argv: string[]) => cliInProcess(config, ...argv);
  return { dataDir, club, run, store: store! };
}

describe('carapace groups', () => {
  it('set validates with the shared schema: good values are saved and logged, bad ones get a clear error and change nothing', async () => {
    const { run, store, club } = install();
    expect(await run('groups', 'set', 'club', 'trigger', '@Bob')).toEqual({ code: 0, stdout: 'club: trigger = "@Bob"\n', stderr: '' });
    const json = await run('groups', 'set', 'local:club', 'dailySpendUsd', '2.5', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ folder: 'club', changed: { dailySpendUsd: { from: null, to: 2.5 } }, settings: { trigger: '@Bob', dailySpendUsd: 2.5 } });
    expect(await run('groups', 'set', 'club', 'allowedDomains', '["github.com"]')).toMatchObject({ code: 0 });

    expect(await run('groups', 'set', 'club', 'dailySpendUsd', '-3')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid settings for "club": dailySpendUsd: Too small: expected number to be >0.\n',
    });
    expect((await run('groups', 'set', 'club', 'requiresTrigger', 'maybe')).stderr).toBe(
      'Invalid settings for "club": requiresTrigger: Invalid input: expected boolean, received string.\n',
    );
    expect((await run('groups', 'set', 'club', 'budget', '5')).stderr).toMatch(/^Unknown setting "budget"\. Settings: name, trigger, requiresTrigger, /);
    expect((await run('groups', 'set', 'nobody', 'trigger', '@X')).stderr).toBe('No registered group "nobody"; `carapace groups` lists them.\n');
    // outside the mount allowlist (there is none here): refused before it is saved
    const mount = await run('groups', 'set', 'club', 'extraMounts', '[{"hostPath":"/etc"}]');
    expect(mount.code).toBe(1);
    expect(mount.stderr).toMatch(/^Extra mounts for "club" refused by the mount allowlist: \/etc: /);

    const g = store.groupById(club.id)!;
    expect(g.trigger).toBe('@Bob');
    expect(g.containerConfig).toEqual({ dailySpendUsd: 2.5, egress: { allow: ['github.com'] } });
    expect(store.groupChanges(club.id).map((c) => [c.actor, Object.keys(c.change)])).toEqual([
      ['cli', ['allowedDomains']],
      ['cli', ['dailySpendUsd']],
      ['cli', ['trigger']],
    ]);
    // none puts a setting back to its default
    expect(await run('groups', 'set', 'club', 'allowedDomains', 'none')).toMatchObject({ stdout: 'club: allowedDomains = null\n' });
  });

  it('list and show, as text and JSON; help lists every setting', async () => {
    const { run, store, club } = install();
    store.recordUsage({ groupId: club.id, runId: 'r1', model: 'claude-sonnet-4-5', inputTokens: 100_000, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    const list = await run('groups');
    expect(list.stdout).toContain('  club  club (local:club)  trigger=@Andy\n    spend today: $0.30 (100,000 tokens, no daily budget); this month: $0.30');
    const rows = JSON.parse((await run('groups', 'list', '--json')).stdout);
    expect(rows.map((r: any) => [r.folder, r.isMain, r.spend.today.usd])).toEqual([['main', true, 0], ['club', false, 0.3]]);
    const shown = JSON.parse((await run('groups', 'show', 'club', '--json')).stdout);
    expect(shown).toMatchObject({ folder: 'club', trigger: '@Andy', requiresTrigger: true, allowedDomains: null, extraMounts: [], sessionCommands: false, recentChanges: [] });
    expect((await run('groups', 'show', 'club')).stdout).toContain('  dailySpendUsd     null\n');
    const help = await run('groups', 'set', '--help');
    for (const key of ['dailySpendUsd', 'extraMounts', 'sessionCommands', 'allowedDomains']) expect(help.stdout).toContain(`  ${key}`);
  });

  it('remove archives the folder and says where; the main chat cannot be removed', async () => {
    const { run, store, dataDir, club } = install();
    const folder = dataPaths(dataDir).group('club');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'notes.md'), 'kept');
    store.tasks.create({ id: 't1', groupId: club.id, createdBy: club.id, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: 0, nextRun: 1 }, 0);
    const removed = JSON.parse((await run('groups', 'remove', 'club', '--json')).stdout);
    expect(removed.archivedTo).toMatch(new RegExp(`^${dataDir}/archives/club/removed-\\d{8}-\\d{6}$`));
    expect(existsSync(join(removed.archivedTo, 'folder', 'notes.md'))).toBe(true);
    expect(existsSync(folder)).toBe(false);
    expect(store.groupById(club.id)).toBeUndefined();
    expect(store.tasks.get('t1')).toBeUndefined();
    expect(await run('groups', 'remove', 'main')).toMatchObject({ code: 1, stderr: 'The main chat cannot be removed.\n' });
  });
});
