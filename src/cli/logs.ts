// `carapace logs [-f] [--group X] [--level warn]`: the log file under the data directory, readable, filtered, and
// followed across rotations. Works whether Carapace runs or not.
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import pino from 'pino';
import { LOG_LEVELS } from '../config/load.js';
import { dataPaths } from '../fs/paths.js';
import { positiveInt, type CliContext } from './context.js';
import { PRETTY_IGNORE } from './logging.js';
import { ifStore } from './with-store.js';

interface LogsOptions {
  follow?: boolean;
  group?: string;
  level: string;
  lines: number;
  json?: boolean;
}

/** A line kept when it parses as a log record at or above the level and, with a group, concerns that group. */
type LineFilter = (line: string) => Record<string, unknown> | undefined;

function lineFilter(level: string, group: string | undefined): LineFilter {
  const min = pino.levels.values[level];
  return (line) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined; // a line cut short by a crash: not a record
    }
    if (typeof record.level !== 'number' || record.level < min) return undefined;
    if (group !== undefined && record.group !== group) return undefined;
    return record;
  };
}

/** The log files, oldest first (pino-roll numbers them upwards). */
function logFiles(logsDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(logsDir);
  } catch {
    return [];
  }
  const numbered = names.flatMap((n) => {
    const m = /^carapace\.(\d+)\.log$/.exec(n);
    return m ? [{ n: Number(m[1]), path: join(logsDir, n) }] : [];
  });
  return numbered.sort((a, b) => a.n - b.n).map((f) => f.path);
}

/** The last `count` kept lines, reading the newest files first and older ones only while more are needed. */
function lastLines(files: string[], keep: LineFilter, count: number): string[] {
  const found: string[] = [];
  for (const file of [...files].reverse()) {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => keep(l));
    found.unshift(...lines.slice(-(count - found.length)));
    if (found.length >= count) break;
  }
  return found.slice(-count);
}

/** A group given by name is looked up, so `--group Family` and `--group family-chat` (its folder) both work. */
async function groupFolder(ctx: CliContext, group: string | undefined): Promise<string | undefined> {
  let folder = group;
  if (group === undefined) return undefined;
  await ifStore(ctx, (store) => {
    const named = store.listGroups().find((g) => g.name.toLowerCase() === group.toLowerCase());
    if (named) folder = named.folder;
  });
  return folder;
}

/** New bytes of the file `current.log` points at, following it to the next file when it rotates. */
async function follow(logsDir: string, start: { file?: string; offset: number }, onText: (text: string) => void): Promise<never> {
  let { file, offset } = start;
  for (;;) {
    let target: string | undefined;
    try {
      target = realpathSync(join(logsDir, 'current.log'));
    } catch {
      target = undefined; // not started yet
    }
    if (file && statSync(file, { throwIfNoEntry: false })?.size !== offset) offset = readFrom(file, offset, onText);
    if (target && target !== file) [file, offset] = [target, readFrom(target, 0, onText)];
    await sleep(250);
  }
}

function readFrom(file: string, offset: number, onText: (text: string) => void): number {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    if (size <= offset) return size < offset ? 0 : offset; // truncated: start over
    const buffer = Buffer.alloc(size - offset);
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    onText(buffer.subarray(0, read).toString('utf8'));
    return offset + read;
  } finally {
    closeSync(fd);
  }
}

async function showLogs(ctx: CliContext, o: LogsOptions): Promise<void> {
  const logsDir = dataPaths(ctx.config().dataDir).logsDir;
  const keep = lineFilter(o.level, await groupFolder(ctx, o.group));
  const { prettyFactory } = await import('pino-pretty');
  const pretty = prettyFactory({ colorize: (ctx.out as { isTTY?: boolean }).isTTY === true, ignore: PRETTY_IGNORE, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss' });
  const print = (line: string) => {
    const record = keep(line);
    if (record) ctx.out.write(o.json ? `${line}\n` : pretty(record));
  };
  const files = logFiles(logsDir);
  if (!files.length && !o.follow) {
    ctx.err.write(`No logs yet in ${logsDir}: they start with the first \`carapace start\`.\n`);
    return;
  }
  for (const line of lastLines(files, keep, o.lines)) print(line);
  if (!o.follow) return;
  const newest = files.at(-1);
  let partial = '';
  await follow(logsDir, { file: newest, offset: newest ? statSync(newest).size : 0 }, (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) print(line);
  });
}

export function addLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('the log (JSON lines under the data directory, rotated by size), readable and filtered')
    .option('-f, --follow', 'keep printing new lines as they are written (Ctrl-C to stop)')
    .option('-g, --group <name>', 'only lines about this group (its name or folder)')
    .addOption(new Option('-l, --level <level>', 'only lines at this level or above').choices(LOG_LEVELS.filter((l) => l !== 'silent')).default('info'))
    .option('-n, --lines <count>', 'how many past lines to show first', positiveInt, 100)
    .option('--json', 'print the JSON lines as they are stored')
    .action((o: LogsOptions) => showLogs(ctx, o));
}
