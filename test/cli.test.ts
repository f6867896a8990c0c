// The `carapace` command line as a user runs it: help for every command without side effects, usage errors,
// --json output, exit codes, and a reader that goes away (`carapace chat | head`).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localChatToken } from '../src/app.js';
import { LocalChannel } from '../src/channels/local/local-channel.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { runCli, spawnCli } from './support/run-cli.js';
import { until } from './support/wait.js';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'carapace-cli-'));
/** Only what a user's shell would have, plus the settings given. */
const env = (dir: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  HOME: dir,
  CARAPACE_TZ: 'UTC',
  CARAPACE_DATA_DIR: join(dir, 'data'),
  CARAPACE_ENV_FILE: join(dir, '.env'),
  ...extra,
});

const COMMANDS = [
  ['start'], ['chat'], ['status'], ['doctor'], ['image'], ['image', 'build'], ['tasks'], ['tasks', 'list'], ['tasks', 'run'],
  ['whatsapp'], ['whatsapp', 'pair'], ['whatsapp', 'status'], ['whatsapp', 'logout'],
  ['logs'], ['open'], ['service'], ['service', 'install'], ['service', 'uninstall'], ['service', 'status'],
  ['channel'], ['channel', 'add'], ['channel', 'pair'], ['channel', 'remove'], ['channel', 'list'],
];

describe('carapace --help', () => {
  it('every command and subcommand prints its usage and exits 0, touching nothing', async () => {
    const dir = emptyDir();
    const runs = await Promise.all(COMMANDS.map((c) => runCli([...c, '--help'], { cwd: dir, env: env(dir) })));
    runs.forEach((r, i) => {
      expect(r.code, `${COMMANDS[i].join(' ')} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: carapace ${COMMANDS[i].join(' ')}`);
      expect(r.stdout.split('\n')[2].length, 'a one-line description').toBeGreaterThan(10);
      expect(r.stderr).toBe('');
    });
    expect(runs[COMMANDS.findIndex((c) => c.join() === 'status')].stdout).toContain('--json');
    expect(runs[COMMANDS.findIndex((c) => c.join() === 'whatsapp,pair')].stdout).toContain('--phone <number>');
    expect(runs[COMMANDS.findIndex((c) => c.join() === 'image,build')].stdout).toContain('--force');
    expect(readdirSync(dir)).toEqual([]); // no data directory, no token, no lock
  });

  it('the top-level help lists the commands and documents the exit codes; so do `carapace` and `carapace help`', async () => {
    const dir = emptyDir();
    for (const args of [['--help'], [], ['help']]) {
      const r = await runCli(args, { cwd: dir, env: env(dir) });
      expect(r.code).toBe(0);
      for (const c of ['start', 'chat', 'status', 'doctor', 'image', 'tasks', 'whatsapp', 'logs', 'open', 'service', 'channel']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
      expect(r.stdout).toMatch(/Exit codes:[\s\S]*2 +usage error[\s\S]*3 +Carapace is not running[\s\S]*4 +Carapace is already running/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('carapace usage errors', () => {
  it('exit 2 with the reason and a pointer to help', async () => {
    const dir = emptyDir();
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['status', '--frob'], /unknown option '--frob'/],
      [['tasks', 'run'], /missing required argument 'id'/],
      [['chat', 'extra'], /too many arguments/],
      [['whatsapp', 'pair', '--phone', 'abc'], /--phone needs the full number with country code/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: dir, env: env(dir) });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('carapace help');
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('carapace --json', () => {
  it('status, tasks, whatsapp status and doctor print JSON that parses', async () => {
    const dir = emptyDir();
    const db = openDatabase(dataPaths(join(dir, 'data')).db);
    const store = new Store(db);
    const g = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
    store.tasks.create(
      { id: 'tj', groupId: g.id, createdBy: g.id, prompt: 'water the plants', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: 0, nextRun: 3_600_000 },
      0,
    );
    db.close();
    const json = async (args: string[]) => {
      const r = await runCli(args, { cwd: dir, env: env(dir, { CARAPACE_RUNTIME: 'bwrap' }) });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    };
    const status = await json(['status', '--json']);
    expect(status).toMatchObject({ groups: [{ name: 'Owner', chatId: 'local:owner', folder: 'main', isMain: true, trigger: null, pendingMessages: 0 }], runsInProgress: 0, pendingDeliveries: 0 });
    const tasks = await json(['tasks', '--json']);
    expect(tasks).toMatchObject([{ id: 'tj', group: 'main', prompt: 'water the plants', status: 'active', lastRun: null }]);
    expect(await json(['tasks', 'list', '--json'])).toEqual(tasks);
    expect(await json(['whatsapp', 'status', '--json'])).toEqual({ paired: false, phone: null, running: null });
    const doctor = await json(['doctor', '--json']);
    expect(doctor.runtimeSetting).toBe('bwrap');
    expect(doctor.backends.map((b: { kind: string }) => b.kind).sort()).toEqual(['apple', 'bwrap', 'docker', 'podman']);
    expect(doctor.chosen).toBe('bwrap'); // bubblewrap works on this machine
  });

  it('before the first start, the JSON is the empty answer', async () => {
    const dir = emptyDir();
    const r = await runCli(['status', '--json'], { cwd: dir, env: env(dir) });
    const status = JSON.parse(r.stdout);
    expect(status).toMatchObject({ groups: [], runsInProgress: 0, recentRuns: [], pendingDeliveries: 0 });
    expect(status.channels.filter((c: { account: string | null; health: unknown }) => c.account !== null || c.health !== null)).toEqual([]);
    expect(JSON.parse((await runCli(['tasks', '--json'], { cwd: dir, env: env(dir) })).stdout)).toEqual([]);
  });
});

describe('carapace chat', () => {
  let channel: LocalChannel | undefined;
  afterEach(async () => {
    await channel?.disconnect();
    channel = undefined;
  });

  it('exits 3 when Carapace is not running: never started, or started once but stopped', async () => {
    const dir = emptyDir();
    const never = await runCli(['chat'], { cwd: dir, env: env(dir) });
    expect(never.code).toBe(3);
    expect(never.stderr).toMatch(/has not been started with data directory .* yet/);
    localChatToken(join(dir, 'data'));
    const stopped = await runCli(['chat'], { cwd: dir, env: env(dir, { CARAPACE_WEB_PORT: '9' }) });
    expect(stopped.code).toBe(3);
    expect(stopped.stdout).toContain('Carapace is not running at http://127.0.0.1:9');
  });

  it('with piped input: prints the reply and exits 0; with no reply within --wait, says so and exits 1', async () => {
    const dir = emptyDir();
    let answer = true;
    channel = new LocalChannel({ port: 0, token: localChatToken(join(dir, 'data')), history: () => [] });
    // A reply (after a typing notice, which a pipe does not show) only when `answer` says so.
    await channel.connect((m) => {
      if (!answer) return;
      void channel!.setTyping('local:owner', true);
      setTimeout(() => void channel!.send('local:owner', `you said ${m.text}`), 300);
    });
    const port = new URL(channel.address().url).port;
    const chat = () => {
      const { proc, done } = spawnCli(['chat', '--wait', '2'], { cwd: dir, env: env(dir, { CARAPACE_WEB_PORT: port }) });
      proc.stdin!.end('hello\n');
      return done;
    };
    expect(await chat()).toMatchObject({ code: 0, stdout: 'Assistant: you said hello\n', stderr: '' });
    answer = false;
    const silent = await chat();
    expect(silent.code).toBe(1);
    expect(silent.stdout).toBe("No reply within 2 s; it will still be in the chat's history.\n");
  });

  it('ends quietly when the reader of its output goes away (`carapace chat | head`)', async () => {
    const dir = emptyDir();
    channel = new LocalChannel({ port: 0, token: localChatToken(join(dir, 'data')), history: () => [] });
    await channel.connect(() => {});
    const port = new URL(channel.address().url).port;
    const { proc, done } = spawnCli(['chat'], { cwd: dir, env: env(dir, { CARAPACE_WEB_PORT: port }) });
    let seen = '';
    proc.stdout!.on('data', (c: Buffer) => (seen += c.toString()));
    // Piped input prints only what is said: a reply shows the chat is connected.
    await until(async () => seen.includes('first reply') || void (await channel!.send('local:owner', 'first reply')), 10_000);
    proc.stdout!.destroy(); // like `head` exiting: the pipe's read end is closed
    for (let i = 0; !(await Promise.race([done.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))])); i++) {
      await channel.send('local:owner', `reply ${i}`); // each one is written to the closed pipe
    }
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
