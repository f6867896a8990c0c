// The vault on a real store: values sealed at rest under a key kept in its own owner-only file, refused when
// that key is loose or replaced; `carapace secret add|list|remove` (value from stdin, never an argument); grants
// only from the main chat.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redactStream } from '../src/boundary/redact-stream.js';
import { SecretVault, vaultDir, type Secret } from '../src/boundary/secret-vault.js';
import { dataPaths } from '../src/fs/paths.js';
import { runOp, type OpContext } from '../src/ops/registry.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { hostWith } from './support/ops-host.js';
import { spawnCli } from './support/run-cli.js';

const VALUE = 'ghp_sealedVALUE_0123456789';
const github: Secret = { name: 'github', host: 'api.github.com', header: 'Authorization', format: 'Bearer {}', env: 'GITHUB_TOKEN', value: VALUE };
let store: Store | undefined;
afterEach(() => {
  store?.db.close();
  store = undefined;
});

function install() {
  const dataDir = sandboxReadableTempDir('carapace-vault-');
  store = new Store(openDatabase(dataPaths(dataDir).db));
  return { dataDir, store, vault: new SecretVault(store.db, vaultDir(dataDir)) };
}

describe('secret vault', () => {
  it('seals values at rest: neither the database file nor its WAL holds the value, and the key is its own 0600 file', () => {
    const { dataDir, store, vault } = install();
    vault.add(github);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const db = readFileSync(dataPaths(dataDir).db);
    expect(db.includes(Buffer.from(VALUE))).toBe(false);
    expect(db.includes(Buffer.from('api.github.com'))).toBe(true); // the routing is in the clear, the value is not
    const key = join(vaultDir(dataDir), 'secrets.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(vaultDir(dataDir)).mode & 0o777).toBe(0o700);
    expect(vault.list()).toEqual([{ name: 'github', host: 'api.github.com', header: 'authorization', format: 'Bearer {}', env: 'GITHUB_TOKEN' }]);
  });

  it('opens values only for groups granted them, and only with the key they were sealed under', () => {
    const { dataDir, store, vault } = install();
    vault.add(github);
    const g = store.registerGroup({ channel: 'local', chatId: 'local:club', name: 'club', folder: 'club', trigger: '@A', requiresTrigger: false, isMain: false });
    expect(vault.granted(g.id)).toEqual([]);
    store.db.prepare('INSERT INTO secret_grants (group_id, secret) VALUES (?, ?)').run(g.id, 'github');
    expect(vault.granted(g.id).map((s) => s.value)).toEqual([VALUE]);
    const key = join(vaultDir(dataDir), 'secrets.key');
    chmodSync(key, 0o644);
    expect(() => new SecretVault(store.db, vaultDir(dataDir)).granted(g.id)).toThrow(/only its owner can read/);
    writeFileSync(key, Buffer.alloc(32, 7));
    chmodSync(key, 0o600);
    expect(() => new SecretVault(store.db, vaultDir(dataDir)).granted(g.id)).toThrow(/cannot be opened with this install's key/);
  });

  it('refuses bad names, hosts, formats and values with a clear error', () => {
    const { vault } = install();
    expect(() => vault.add({ ...github, name: 'Git Hub' })).toThrow(/secret name/);
    expect(() => vault.add({ ...github, host: 'https://api.github.com/' })).toThrow(/not a host name/);
    expect(() => vault.add({ ...github, format: 'Bearer' })).toThrow(/\{\} exactly once/);
    expect(() => vault.add({ ...github, value: 'a\nb' })).toThrow(/line break/);
    expect(() => vault.add({ ...github, env: 'lower' })).toThrow(/environment variable/);
    expect(vault.list()).toEqual([]);
  });

  it('grants and revokes only from the main chat, and says when the host is not reachable yet', async () => {
    const { store, vault } = install();
    vault.add(github);
    const reg = (folder: string, isMain: boolean): Group =>
      store.registerGroup({ channel: 'local', chatId: `local:${folder}`, name: folder, folder, trigger: '@A', requiresTrigger: false, isMain });
    const main = reg('main', true);
    const club = reg('club', false);
    const host = hostWith(store, { timeZone: 'UTC', minIntervalMs: 60_000, now: Date.now, changed: () => undefined });
    const ctx = (group: Group): OpContext => ({ group, runId: 'r', seq: 1, store, host });
    await expect(runOp(ctx(club), 'grant_secret', { secret: 'github', group: 'club' })).rejects.toThrow(/only available in the main chat/);
    expect(await runOp(ctx(main), 'grant_secret', { secret: 'github', group: 'club' })).toMatch(/GITHUB_TOKEN=carapace:secret:github.*not on that chat's allowed list/);
    expect(vault.granted(club.id).map((s) => s.name)).toEqual(['github']);
    expect(JSON.stringify(await runOp(ctx(main), 'list_secrets', {}))).not.toContain(VALUE);
    await expect(runOp(ctx(main), 'grant_secret', { secret: 'aws', group: 'club' })).rejects.toThrow(/No secret "aws"/);
    expect(await runOp(ctx(main), 'revoke_secret', { secret: 'github', group: 'club' })).toMatch(/Revoked/);
    expect(vault.granted(club.id)).toEqual([]);
  });
});

describe('carapace secret', () => {
  const cli = async (dataDir: string, args: string[], stdin = '') => {
    const { proc, done } = spawnCli(args, { cwd: dataDir, env: { PATH: process.env.PATH, CARAPACE_DATA_DIR: dataDir, HOME: dataDir } });
    proc.stdin!.end(stdin);
    return done;
  };

  it('adds a secret from stdin, lists it without its value, and removes it', async () => {
    const dataDir = sandboxReadableTempDir('carapace-vault-cli-');
    const added = await cli(dataDir, ['secret', 'add', 'github', '--host', 'api.github.com'], `${VALUE}\n`);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/Saved "github" \(sealed\)\. Chats granted it see GITHUB_TOKEN=carapace:secret:github/);
    const listed = await cli(dataDir, ['secret', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([{ name: 'github', host: 'api.github.com', header: 'authorization', format: 'Bearer {}', env: 'GITHUB_TOKEN', grantedTo: [] }]);
    expect(added.stdout + listed.stdout).not.toContain(VALUE);
    const bad = await cli(dataDir, ['secret', 'add', 'x', '--host', 'nohost'], 'v\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a host name/);
    const empty = await cli(dataDir, ['secret', 'add', 'y', '--host', 'a.example'], '');
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/nothing on standard input/);
    expect((await cli(dataDir, ['secret', 'remove', 'github'])).stdout).toMatch(/Removed "github"/);
    expect((await cli(dataDir, ['secret', 'remove', 'github'])).stderr).toMatch(/No secret "github"/);
  });
});

describe('redaction', () => {
  it('replaces a value split across chunks, and leaves other bytes alone', async () => {
    const t = redactStream([[VALUE, 'carapace:secret:github']]);
    const out: Buffer[] = [];
    t.on('data', (c: Buffer) => out.push(c));
    const text = `a${VALUE}b ${VALUE}`;
    for (let i = 0; i < text.length; i += 5) t.write(text.slice(i, i + 5));
    await new Promise((r) => t.end(r));
    expect(Buffer.concat(out).toString()).toBe('acarapace:secret:githubb carapace:secret:github');
  });
});
