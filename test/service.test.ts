// `carapace service`: the systemd user unit it writes (checked by systemd-analyze), install/status/uninstall
// through the real CLI, the launchd agent's content, and the unit's own command starting Carapace for real.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { launchdPlist, systemdUnit, type ServiceSpec } from '../src/cli/service-units.js';
import { serviceManager } from '../src/cli/service.js';
import { startFakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir, testEnv } from './support/harness.js';
import { runCli } from './support/run-cli.js';
import { until } from './support/wait.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const home = () => mkdtempSync(join(tmpdir(), 'carapace-svc-'));
const envFor = (dir: string) => ({ PATH: process.env.PATH, HOME: dir, CARAPACE_DATA_DIR: join(dir, 'data'), CARAPACE_ENV_FILE: join(dir, '.env') });
const unitPath = (dir: string) => join(dir, '.config', 'systemd', 'user', 'carapace.service');
const verify = (file: string) => spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });

describe('carapace service (systemd)', () => {
  it('install --no-start writes a user unit that restarts on failure, runs this checkout on this data directory', async () => {
    const dir = home();
    const r = await runCli(['service', 'install', '--no-start'], { cwd: '/', env: envFor(dir) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`Wrote ${unitPath(dir)} (data directory ${join(dir, 'data')}).\n`);
    const unit = readFileSync(unitPath(dir), 'utf8');
    expect(unit).toContain(`ExecStart="${process.execPath}" "${join(APP_ROOT, 'bin', 'carapace.js')}" start\n`);
    expect(unit).toContain(`WorkingDirectory=${APP_ROOT}\n`);
    expect(unit).toContain(`Environment="CARAPACE_DATA_DIR=${join(dir, 'data')}"\n`);
    expect(unit).toContain(`Environment="CARAPACE_ENV_FILE=${join(dir, '.env')}"\n`);
    expect(unit).toContain(`Environment="PATH=${process.env.PATH}"\n`);
    for (const line of ['Restart=on-failure', 'RestartPreventExitStatus=4', 'KillMode=mixed', 'StandardOutput=null', 'WantedBy=default.target']) {
      expect(unit).toContain(`${line}\n`);
    }
    expect(statSync(unitPath(dir)).mode & 0o777).toBe(0o644);

    const status = JSON.parse((await runCli(['service', 'status', '--json'], { cwd: '/', env: envFor(dir) })).stdout);
    expect(status).toMatchObject({ manager: 'systemd', file: unitPath(dir), installed: true, dataDir: join(dir, 'data'), running: false });

    const gone = await runCli(['service', 'uninstall'], { cwd: '/', env: envFor(dir) });
    expect(gone.code).toBe(0);
    expect(gone.stdout).toMatch(new RegExp(`^Removed ${unitPath(dir)}\\.`));
    expect(statSync(unitPath(dir), { throwIfNoEntry: false })).toBeUndefined();
    expect((await runCli(['service', 'status'], { cwd: '/', env: envFor(dir) })).stdout).toMatch(/^No Carapace service is installed/);
  });

  it.runIf(hasAnalyze)('systemd-analyze verify accepts the unit, and would catch a broken one', async () => {
    const dir = home();
    await runCli(['service', 'install', '--no-start'], { cwd: '/', env: envFor(dir) });
    const ok = verify(unitPath(dir));
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const broken = join(dir, 'broken.service');
    writeFileSync(broken, readFileSync(unitPath(dir), 'utf8').replace(/^WorkingDirectory=.*$/m, 'WorkingDirectory=relative/dir'));
    expect(verify(broken).status).not.toBe(0);
  });

  it('quotes what systemd would misread: spaces, quotes and % in paths', () => {
    const unit = systemdUnit(spec('/opt/my "odd" 100%/carapace'));
    expect(unit).toContain('ExecStart="/usr/bin/node" "/opt/my \\"odd\\" 100%%/carapace/bin/carapace.js" start');
    expect(unit).toContain('WorkingDirectory=/opt/my "odd" 100%%/carapace\n');
  });

  it('the unit’s own command and environment start Carapace on its data directory', async () => {
    const fake = await startFakeAnthropic();
    const dataDir = sandboxReadableTempDir('carapace-svc-run-');
    const env = { ...envFor(dataDir), CARAPACE_DATA_DIR: dataDir };
    await runCli(['service', 'install', '--no-start'], { cwd: '/', env });
    const unit = readFileSync(unitPath(dataDir), 'utf8');
    const [node, bin, command] = [...unit.match(/^ExecStart=(.*)$/m)![1].matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    const unitEnv = Object.fromEntries([...unit.matchAll(/^Environment="([^=]+)=(.*)"$/gm)].map((m) => [m[1], m[2]]));
    const workDir = unit.match(/^WorkingDirectory=(.*)$/m)![1];
    // The model settings come from the owner's .env in real life; here from the test's.
    const { ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, CARAPACE_WEB_PORT, CARAPACE_RUNTIME, HOME } = testEnv(dataDir, fake.url);
    const child = spawn(node, [bin, command], {
      cwd: workDir,
      env: { ...unitEnv, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, CARAPACE_WEB_PORT, CARAPACE_RUNTIME, HOME },
      stdio: 'ignore',
    });
    try {
      const status = async () => JSON.parse((await runCli(['status', '--json'], { cwd: '/', env })).stdout);
      const s = await until(async () => ((await status()).instance.running ? status() : undefined), 30_000);
      expect(s.instance.pid).toBe(child.pid);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await fake.close();
    }
  }, 60_000);
});

function spec(appRoot: string): ServiceSpec {
  return { node: '/usr/bin/node', bin: join(appRoot, 'bin', 'carapace.js'), appRoot, dataDir: `${appRoot}/data`, stderrFile: '/tmp/err.log', env: { PATH: '/usr/bin' } };
}

describe('which service manager', () => {
  it('launchd on macOS, systemd (honouring XDG_CONFIG_HOME) on Linux, a clear refusal elsewhere', () => {
    expect(serviceManager({ HOME: '/Users/ada' }, 'darwin')).toMatchObject({ kind: 'launchd', file: '/Users/ada/Library/LaunchAgents/dev.carapace.assistant.plist' });
    if (!process.env.WSL_DISTRO_NAME) {
      expect(serviceManager({ HOME: '/home/ada', XDG_CONFIG_HOME: '/cfg' }, 'linux')).toMatchObject({ kind: 'systemd', file: '/cfg/systemd/user/carapace.service' });
    }
    expect(() => serviceManager({ HOME: 'C:\\Users\\ada' }, 'win32')).toThrow(/supports Linux \(systemd\) and macOS \(launchd\), not win32/);
  });
});

describe('carapace service (launchd)', () => {
  it('writes a launch agent that runs at load, restarts only after a failure, with XML-escaped values', () => {
    const plist = launchdPlist(spec('/Users/ada/R&D <carapace>'));
    expect(plist).toContain('<key>Label</key><string>dev.carapace.assistant</string>');
    expect(plist).toContain(
      '<array><string>/usr/bin/node</string><string>/Users/ada/R&#38;D &#60;carapace&#62;/bin/carapace.js</string><string>start</string></array>',
    );
    expect(plist).toContain('<key>CARAPACE_DATA_DIR</key><string>/Users/ada/R&#38;D &#60;carapace&#62;/data</string>');
    expect(plist).toContain('<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>');
    expect(plist).toContain('<key>RunAtLoad</key><true/>');
    expect(plist).toContain('<key>StandardErrorPath</key><string>/tmp/err.log</string>');
    expect(plist).not.toMatch(/&(?!#\d+;)/); // every & is an entity
  });
});
