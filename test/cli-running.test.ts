// The commands that talk to a running Carapace, as a user runs them against the real `carapace start` (child
// process, bubblewrap sandbox, fake Anthropic): status, `echo hi | carapace chat`, a reader that goes away, logs,
// open, the terminal chat across a restart, and chat when Carapace is down.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startChildCarapace, type ChildCarapace } from './support/child-carapace.js';
import { startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir, testEnv } from './support/harness.js';
import { freePort, runCli, runShell, spawnCli } from './support/run-cli.js';
import { until } from './support/wait.js';

let fake: FakeAnthropic;
let dataDir: string;
let child: ChildCarapace;
let env: Record<string, string | undefined>;
let port: string;
const cli = (args: string[]) => runCli(args, { cwd: '/', env });
const sh = (script: string) => runShell(script, { cwd: '/', env });

beforeAll(async () => {
  fake = await startFakeAnthropic();
  dataDir = sandboxReadableTempDir('carapace-running-');
  port = String(await freePort()); // fixed, so the terminal chat finds it again after a restart
  child = await startChildCarapace(dataDir, fake.url, { CARAPACE_WEB_PORT: port });
  env = { PATH: process.env.PATH, ...testEnv(dataDir, fake.url, { CARAPACE_WEB_PORT: port }) };
}, 60_000);

afterAll(async () => {
  await child?.kill('SIGTERM');
  await fake?.close();
});

describe('a running Carapace through the CLI', () => {
  it('`echo hi | carapace chat` prints only the reply and exits 0', async () => {
    const r = await sh('echo "hello from a pipe" | $CARAPACE chat');
    expect(r.stderr).toBe('');
    // The fake model echoes the whole prompt: the message wrapped in the chat's context.
    expect(r.stdout).toMatch(/^Andy: ECHO: <messages>\n<message sender="Owner" [^>]*>hello from a pipe<\/message>\n<\/messages>\n$/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('status says it runs, with pid, uptime, backend, groups by name, runs, spend and next tasks', async () => {
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.instance).toMatchObject({ running: true, pid: child.proc.pid, backend: 'bwrap', webUrl: `http://127.0.0.1:${port}/` });
    expect(s.instance.uptimeS).toBeGreaterThanOrEqual(0);
    expect(s.groups.map((g: { name: string }) => g.name)).toEqual(['Owner']);
    expect(s.recentRuns.length).toBeGreaterThanOrEqual(1);
    expect(s.totalSpend.today.tokens).toBeGreaterThan(0);
    expect(s.nextTasks).toEqual([]);
    const text = await cli(['status']);
    expect(text.stdout).toMatch(new RegExp(`^Carapace is running: pid ${child.proc.pid}, up \\d+ s .*sandbox backend bwrap`));
    expect(text.stdout).toMatch(/^All groups: .*today/m);
  });

  it('a reader that goes away ends status quietly (no EPIPE stack), exit 0', async () => {
    // `true` exits without reading: every write after that fails with EPIPE.
    const r = await sh('$CARAPACE status | true; echo "status=${PIPESTATUS[0]}"; $CARAPACE status | head -1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^status=0\nCarapace is running: pid \d+/);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('carapace logs: readable, JSON, by level and by group', async () => {
    const json = (await cli(['logs', '--json', '--level', 'debug', '-n', '1000'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json.map((l) => l.msg)).toContain('carapace started');
    expect(json.some((l) => l.group === 'main')).toBe(true);
    const byGroup = (await cli(['logs', '--json', '--level', 'debug', '--group', 'Owner', '-n', '1000'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(byGroup.length).toBeGreaterThan(0);
    expect(byGroup.every((l) => l.group === 'main')).toBe(true);
    const warn = await cli(['logs', '--json', '--level', 'warn', '-n', '1000']);
    for (const line of warn.stdout.trim().split('\n').filter(Boolean)) expect(JSON.parse(line).level).toBeGreaterThanOrEqual(40);
    const pretty = await cli(['logs', '-n', '3']);
    expect(pretty.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(3);
    expect(pretty.stdout).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (INFO|DEBUG|WARN)/m);
    expect((await cli(['logs', '--level', 'loud'])).code).toBe(2);
  });

  it('carapace logs -f prints lines as they are written', async () => {
    const { proc, done } = spawnCli(['logs', '-f', '--json', '--level', 'debug', '-n', '1'], { cwd: '/', env });
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await until(() => out.length > 0, 10_000);
    const before = out;
    await sh('echo "follow me" | $CARAPACE chat');
    await until(() => out.length > before.length && out.includes('"group":"main"'), 20_000);
    proc.kill('SIGTERM');
    await done;
  }, 60_000);

  it('groups set on the running Carapace closes the live sandbox when the setting shapes it', async () => {
    await sh('echo "start a sandbox" | $CARAPACE chat'); // answered: its run stays up, idle, for the next message
    const db = openDatabase(dataPaths(dataDir).db);
    const liveRuns = () => db.prepare("SELECT COUNT(*) FROM runs WHERE status = 'running'").pluck().get() as number;
    try {
      expect(liveRuns()).toBe(1);
      // Without the port in its environment: the CLI finds the running instance by what it wrote down.
      const r = await runCli(['groups', 'set', 'main', 'limits', '{"memoryMb": 1024}'], { cwd: '/', env: { ...env, CARAPACE_WEB_PORT: undefined } });
      expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^main: limits = /) });
      await until(() => liveRuns() === 0, 10_000); // well before the 20 s idle timeout
    } finally {
      db.close();
    }
  }, 60_000);

  it('groups set says so when the running Carapace cannot be told', async () => {
    const infoFile = dataPaths(dataDir).instanceInfo;
    const info = readFileSync(infoFile, 'utf8');
    // The instance is alive, but the address it wrote down answers nothing.
    writeFileSync(infoFile, JSON.stringify({ ...JSON.parse(info), webUrl: `http://127.0.0.1:${await freePort()}/` }));
    try {
      const r = await runCli(['groups', 'set', 'main', 'trigger', '@Robin'], { cwd: '/', env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^main: trigger = "@Robin"/);
      expect(r.stderr).toMatch(/Saved, but the running Carapace could not be told \(.+\): a live sandbox of this group keeps its old settings/);
    } finally {
      writeFileSync(infoFile, info);
    }
  });

  it('carapace open prints the web link with its token', async () => {
    const r = await cli(['open', '--no-browser']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${child.url}#token=${child.token}\n`);
  });

  it('the terminal chat reconnects after a restart and prints what was said while it was away', async () => {
    const chat = spawnCli(['chat'], { cwd: '/', env });
    let out = '';
    chat.proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    chat.proc.stdin!.write('before the restart\n');
    await until(() => out.includes('before the restart</message>'), 30_000);
    await child.kill('SIGTERM');
    await until(() => out.includes('Lost the connection'), 10_000);
    const db = openDatabase(dataPaths(dataDir).db);
    new Store(db).insertMessage({
      chatId: 'local:owner', platformId: 'missed-1', senderId: 'local:owner', senderName: 'Andy', text: 'said while you were away', timestamp: Date.now(), fromAssistant: true,
    });
    db.close();
    child = await startChildCarapace(dataDir, fake.url, { CARAPACE_WEB_PORT: port });
    await until(() => out.includes('Andy: said while you were away'), 20_000);
    expect(out.match(/before the restart<\/message>/g)).toHaveLength(1); // what it had shown is not shown again
    chat.proc.stdin!.end();
    expect((await chat.done).code).toBe(0);
  }, 90_000);

  it('once stopped: status says so, chat and open exit 3', async () => {
    await child.kill('SIGTERM');
    const s = JSON.parse((await cli(['status', '--json'])).stdout);
    expect(s.instance).toEqual({ running: false });
    expect((await cli(['status'])).stdout).toMatch(/^Carapace is not running/);
    const chat = await sh('echo hi | $CARAPACE chat');
    expect(chat.code).toBe(3);
    expect(chat.stdout + chat.stderr).toMatch(/Carapace is not running/);
    expect((await cli(['open'])).code).toBe(3);
    const logsDir = dataPaths(dataDir).logsDir;
    expect(readFileSync(join(logsDir, 'current.log'), 'utf8')).toMatch(/shutting down/);
    expect(statSync(logsDir).mode & 0o777).toBe(0o700);
    expect(statSync(dataDir).mode & 0o777).toBe(process.getuid?.() === 0 ? 0o711 : 0o700); // was 0755 before the first start
    expect(statSync(join(logsDir, 'current.log')).mode & 0o777).toBe(0o600);
  }, 30_000);
});
