// Logging: the rotating JSON-lines file (pino-roll) read back by the real `carapace logs`, and a library's
// repeated warnings folded into one line.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { openLogFile } from '../src/cli/logging.js';
import { dataPaths } from '../src/fs/paths.js';
import { createLogger, foldRepeats } from '../src/log.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { runCli } from './support/run-cli.js';
import { until } from './support/wait.js';

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

describe('foldRepeats', () => {
  it('logs the first of each kind, counts the rest, and says how many in one line at the end of the window', async () => {
    const { log, lines } = memoryLogger();
    const baileys = foldRepeats(log.child({ module: 'baileys' }, { level: 'warn' }), 200);
    for (let i = 0; i < 40; i++) baileys.warn({ attempt: i }, 'connection closed, retrying');
    baileys.child({ class: 'socket' }).error('stream errored');
    baileys.info('below the level: never logged');
    await until(() => lines.length === 3, 2_000);
    expect(lines.map((l) => [l.level, l.msg, l.repeated])).toEqual([
      [40, 'connection closed, retrying', undefined],
      [50, 'stream errored', undefined],
      [40, 'connection closed, retrying (39 more like this, folded)', 39],
    ]);
    expect(lines[0]).toMatchObject({ module: 'baileys', attempt: 0 });
    expect(lines[1]).toMatchObject({ class: 'socket' });
    baileys.warn('connection closed, retrying'); // a new window: shown again
    expect(lines).toHaveLength(4);
    await sleep(300);
    expect(lines).toHaveLength(4); // nothing folded this time, so no summary
  });
});

describe('the logger of carapace start', () => {
  // What `start` logs, in a child with a real terminal (util-linux `script` gives it a pty) and with a pipe.
  const program = (dataDir: string) => `
    const { openAppLogger } = await import(${JSON.stringify(join(APP_ROOT, 'dist/src/cli/logging.js'))});
    const log = await openAppLogger({ dataDir: ${JSON.stringify(dataDir)}, logLevel: 'info', logFile: { maxMb: 1, keep: 1 } });
    log.info({ group: 'main' }, 'hello'); log.debug('below the level');`;

  it('is readable on a terminal, JSON lines when piped, and always JSON lines in the file', () => {
    const dataDir = sandboxReadableTempDir('carapace-tty-');
    const code = program(dataDir);
    const tty = execFileSync('script', ['-qec', `${process.execPath} --input-type=module -e '${code.replace(/'/g, "'\\''")}'`, '/dev/null'], { encoding: 'utf8' });
    expect(tty.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: hello\r?\n +group: "main"/);
    const piped = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(JSON.parse(piped)).toMatchObject({ level: 30, group: 'main', msg: 'hello' });
    const file = readFileSync(join(dataPaths(dataDir).logsDir, 'current.log'), 'utf8').trim().split('\n');
    expect(file.map((l) => JSON.parse(l).msg)).toEqual(['hello', 'hello']);
  });
});

describe('the log file', () => {
  it('rotates by size, keeps the configured number of old files, and `carapace logs` reads across them', async () => {
    const dataDir = sandboxReadableTempDir('carapace-logs-');
    const stream = await openLogFile({ dataDir, logFile: { maxMb: 1, keep: 2 } });
    const log = createLogger('info', stream);
    const padding = 'x'.repeat(1000);
    // ≈ 4.3 MB in bursts, as a running Carapace writes (pino-roll rolls between bursts, when the file drains)
    for (let i = 0; i < 4000; i++) {
      log.info({ i, group: i % 2 ? 'odd' : 'even', padding }, `line ${i}`);
      if (i % 100 === 99) await sleep(1);
    }
    (stream as pino.DestinationStream & { end(): void }).end();
    const logsDir = dataPaths(dataDir).logsDir;
    const numbered = () => readdirSync(logsDir).filter((f) => /^carapace\.\d+\.log$/.test(f)).sort();
    await until(() => numbered().length === 3, 5_000, () => `files: ${numbered().join(', ')}`);
    expect(numbered()).toEqual(['carapace.3.log', 'carapace.4.log', 'carapace.5.log']);
    expect(readlinkSync(`${logsDir}/current.log`)).toBe('carapace.5.log');

    const env = { PATH: process.env.PATH, HOME: dataDir, CARAPACE_DATA_DIR: dataDir, CARAPACE_ENV_FILE: `${dataDir}/.env` };
    const r = await runCli(['logs', '--json', '--group', 'odd', '-n', '1000'], { cwd: '/', env });
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l).i as number);
    expect(got).toHaveLength(1000);
    const firstInNewest = JSON.parse(readFileSync(`${logsDir}/carapace.5.log`, 'utf8').split('\n')[0]).i as number;
    expect(got[0]).toBeLessThan(firstInNewest); // more than the newest file holds: read from the older ones too
    expect(got.at(-1)).toBe(3999);
    expect(got.every((i, k) => i % 2 === 1 && (k === 0 || i === got[k - 1] + 2))).toBe(true);
  });
});
