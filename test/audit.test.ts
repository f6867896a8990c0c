// `carapace audit` through the real CLI on a deliberately careless install, `--fix`, and the audit of the first
// start; plus the sandbox-uid check against a given /etc/passwd.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandboxUid } from '../src/cli/audit-checks.js';
import { loadConfig } from '../src/config.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { startChildCarapace } from './support/child-carapace.js';
import { startFakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { runCli } from './support/run-cli.js';

const IDS = ['data-dir-mode', 'data-dir-owner', 'secret-file-modes', 'web-beyond-loopback', 'root-sandbox-uid', 'mount-allowlist-dangerous', 'egress-broad', 'stale-credentials'];
const root = sandboxReadableTempDir('carapace-audit-');
const home = join(root, 'home');
const data = join(root, 'data');
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, HOME: home, CARAPACE_DATA_DIR: data, ...extra });
const mode = (f: string) => statSync(f).mode & 0o777;
const careless = { CARAPACE_WEB_HOST: '0.0.0.0', CARAPACE_EGRESS_DEFAULT_ALLOW: 'github.com *.github.io', CARAPACE_EGRESS_PRIVATE_ALLOW: '192.168.1.20:8123' };

/** An install made carelessly: world-readable data, a stale bot token, an allowlist offering the data and ~/.ssh. */
function carelessInstall(): void {
  mkdirSync(join(home, '.ssh'), { recursive: true });
  mkdirSync(join(home, '.config', 'carapace'), { recursive: true });
  openDatabase(dataPaths(data).db).close();
  chmodSync(data, 0o755);
  chmodSync(dataPaths(data).db, 0o644);
  writeFileSync(dataPaths(data).localToken, 'token\n', { mode: 0o644 });
  mkdirSync(join(data, 'channels'), { mode: 0o700 });
  writeFileSync(join(data, 'channels', 'icq.json'), '{}', { mode: 0o600 });
  const roots = [{ path: home }, { path: data }];
  writeFileSync(join(home, '.config', 'carapace', 'mount-allowlist.json'), JSON.stringify({ allowedRoots: roots }));
}

describe('carapace audit', () => {
  it('finds each unsafe setting under its stable id, and --fix repairs only modes', async () => {
    carelessInstall();
    const r = await runCli(['audit', '--json'], { cwd: root, env: env(careless) });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(IDS);
    const failed = (id: string) => report.checks.find((c: { id: string }) => c.id === id);
    expect(failed('data-dir-mode')).toMatchObject({ ok: false, severity: 'high', fix: `chmod 0711 ${data}` });
    expect(failed('secret-file-modes').detail).toContain(`${dataPaths(data).db} (0644)`);
    expect(failed('secret-file-modes').detail).toContain(`${dataPaths(data).localToken} (0644)`);
    expect(failed('web-beyond-loopback')).toMatchObject({ ok: false, detail: expect.stringContaining('CARAPACE_WEB_HOST=0.0.0.0') });
    expect(failed('mount-allowlist-dangerous').detail).toMatch(/it contains ~\/\.ssh.*overlaps Carapace's own data folder/);
    expect(failed('egress-broad').detail).toMatch(/\*\.github\.io.*192\.168\.1\.20:8123/);
    expect(failed('stale-credentials').detail).toContain('icq.json holds a token for "icq", which this version does not run');

    const fixed = await runCli(['audit', '--fix'], { cwd: root, env: env(careless) });
    expect(fixed.code).toBe(1); // the exposure is a setting: reported, never changed
    expect(fixed.stdout).toMatch(/^fixed {2}data-dir-mode: chmod 0711/m);
    expect(fixed.stdout).toMatch(/^✔ data-dir-mode/m);
    expect(fixed.stdout).toMatch(/^✔ secret-file-modes/m);
    expect(fixed.stdout).toMatch(/^✘ web-beyond-loopback/m);
    expect([mode(data), mode(dataPaths(data).db), mode(dataPaths(data).localToken)]).toEqual([0o711, 0o600, 0o600]);
  });

  it('the sandbox uid must not be a person’s account when running as root', () => {
    const config = loadConfig({ CARAPACE_DATA_DIR: data, CARAPACE_SANDBOX_UID: '1000' }, { requireCredentials: false });
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\nsvc:x:64000:64000::/nonexistent:/usr/sbin/nologin\n';
    const input = { config, envFile: '/nonexistent', groupEgress: [], passwd };
    expect(sandboxUid({ ...input, uid: 0 })).toMatchObject({ ok: false, detail: expect.stringContaining('uid 1000, which is the account "alice" (/home/alice)') });
    expect(sandboxUid({ ...input, uid: 1000 }).ok).toBe(true);
    const unused = loadConfig({ CARAPACE_DATA_DIR: data, CARAPACE_SANDBOX_UID: '64000', CARAPACE_SANDBOX_GID: '64000' }, { requireCredentials: false });
    expect(sandboxUid({ ...input, config: unused, uid: 0 }).ok).toBe(true);
  });
});

describe('the first start', () => {
  const fakeReady = startFakeAnthropic();
  afterAll(async () => (await fakeReady).close());

  it('audits once, says what is unsafe and logs it; `status` names the sandbox backend it started with', async () => {
    const fake = await fakeReady;
    const dir = sandboxReadableTempDir('carapace-audit-start-');
    const child = await startChildCarapace(dir, fake.url, { CARAPACE_EGRESS_DEFAULT_ALLOW: '*.github.io' });
    await child.kill('SIGTERM');
    expect(readFileSync(join(dir, 'audited'), 'utf8')).toMatch(/^\d{4}-/);
    const log = readFileSync(join(dir, 'child.log'), 'utf8');
    expect(log).toMatch(/"msg":"security audit: [^"]*egress-broad/);
    const status = await runCli(['status', '--json'], { cwd: dir, env: { PATH: process.env.PATH, HOME: join(dir, 'owner-home'), CARAPACE_DATA_DIR: dir } });
    expect(JSON.parse(status.stdout).backend).toMatchObject({ kind: 'bwrap', since: expect.stringMatching(/^\d{4}-/) });
  });
});
