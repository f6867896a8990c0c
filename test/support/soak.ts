// The fault harness (issue 17 item 1): N messages spread over the local chat and one chat on each platform,
// K `kill -9` of the real `carapace start` (child process) at random moments and at hook points — right after
// the model's last byte, right after a platform accepted a send — each followed by a restart; then the count of
// what went wrong: lost, unanswered, duplicate deliveries, orphaned sandboxes, leftover temp folders, and how
// long each restart took to be ready. Used by `npm run soak` (large) and test/soak.test.ts (small).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { APP_ROOT } from '../../src/app-root.js';
import { startCarapace } from '../../src/app.js';
import { dataPaths } from '../../src/fs/paths.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { startChildCarapace, type ChildCarapace } from './child-carapace.js';
import { sandboxReadableTempDir, testConfig } from './harness.js';
import { localChat, startSoakWorld, WA_GROUP, type HookKind, type SoakChat, type SoakWorld } from './soak-world.js';
import { until } from './wait.js';

export interface SoakOptions {
  messages: number;
  kills: number;
  seed?: number;
  /** Pause between two messages. */
  paceMs?: number;
  /** How long everything may take to be answered after the last kill. */
  settleMs?: number;
  reportFile?: string;
  progress?: (line: string) => void;
}

type KillKind = HookKind | 'random';
const KINDS: KillKind[] = ['model-last-byte', 'accept:wa', 'accept:tg', 'accept:slack', 'accept:dc', 'random'];
/** Telegram and Slack keep no message id we could reuse: a kill right after they accepted a send re-sends it. */
const AT_LEAST_ONCE = new Set(['telegram', 'slack']);
/** How long a kill waits for its hook point before it comes at a random moment instead. */
const HOOK_WAIT_MS = 20_000;
const RANDOM_KILL_MAX_MS = 2_000;

export interface SoakReport {
  messages: number;
  kills: { kind: string; atMs: number }[];
  lost: number;
  unanswered: number;
  /** Messages a person saw that repeated an earlier answer, outside the documented at-least-once window. */
  duplicates: number;
  /** Re-sends by Telegram/Slack after a kill right after they accepted a send (the at-least-once window). */
  windowResends: number;
  /** Re-sends WhatsApp took and showed once (same message id). */
  absorbedResends: number;
  orphanedSandboxes: number;
  leftoverTemp: number;
  restartToReadyMs: { p50: number; max: number; all: number[] };
  perChat: Record<string, { said: number; stored: number; answered: number; seen: number; duplicates: number }>;
  durationMs: number;
  dataDir: string;
}

/** A small deterministic random source (mulberry32), so a failing seed can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SOAK_CHILD = join(APP_ROOT, 'dist', 'test', 'support', 'soak-child.js');

/** Every group answers every message (no trigger), registered the way the main chat would. */
async function registerGroups(dataDir: string, world: SoakWorld): Promise<void> {
  const silent = pino({ level: 'silent' });
  const app = await startCarapace(testConfig(dataDir, world.model.url, world.env), silent);
  try {
    for (const g of world.groups) app.orchestrator.registerGroup({ ...g, trigger: '@Andy', requiresTrigger: false, isMain: false });
  } finally {
    await app.stop();
  }
}

/** Processes still running that belong to this data directory (sandboxes whose orchestrator died). */
function processesOf(dataDir: string, except: number[]): number[] {
  const lines = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  return lines.flatMap((line) => {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    return m && m[2].includes(dataDir) && !except.includes(Number(m[1])) && Number(m[1]) !== process.pid ? [Number(m[1])] : [];
  });
}

/** Wait up to 3 s for a dead child's sandboxes to go; what is left is orphaned (and is killed here). */
async function orphansAfter(dataDir: string): Promise<number> {
  const left = await until(() => processesOf(dataDir, []).length === 0 || null, 3000).then(() => [], () => processesOf(dataDir, []));
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left.length;
}

/** Socket folders of this install in the temp folder, and run folders, left behind. */
function leftoverTemp(dataDir: string): number {
  const install = readFileSync(join(dataDir, 'install-id'), 'utf8').trim();
  const prefix = `carapace-${createHash('sha256').update(install).digest('hex').slice(0, 8)}-`;
  const sockets = readdirSync(tmpdir()).filter((n) => n.startsWith(prefix)).length;
  const runs = dataPaths(dataDir).runsDir;
  return sockets + (existsSync(runs) ? readdirSync(runs).length : 0);
}

class Fleet {
  child!: ChildCarapace;
  readonly readyMs: number[] = [];
  orphans = 0;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly world: SoakWorld,
  ) {}

  async start(): Promise<void> {
    const since = this.world.counters();
    this.child = await startChildCarapace(this.dataDir, this.world.model.url, this.world.env, [SOAK_CHILD, this.world.wa.dir, WA_GROUP]);
    this.readyMs.push(this.child.readyMs);
    await until(() => this.world.connected(since), 30_000, () => `channels connected after a start (log: ${this.dataDir}/child.log)`);
  }

  /** The child died (killed by us, or by itself at the WhatsApp hook): count orphans, start another. */
  async restart(): Promise<void> {
    this.restarting = (async () => {
      await this.child.exited;
      this.world.disarm();
      this.orphans += await orphansAfter(this.dataDir);
      await this.start();
    })();
    await this.restarting;
    this.restarting = undefined;
  }

  /** Say something in the local chat through the live child's API, waiting out a restart. */
  async sayLocal(text: string): Promise<void> {
    for (;;) {
      await this.restarting;
      const { url, token } = this.child;
      const res = await fetch(`${url}api/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      }).catch(() => undefined);
      if (res?.status === 202) return;
      await sleep(100);
    }
  }
}

/** One batch of messages, round robin over the chats from a random one, at a steady pace. */
async function sendBatch(chats: SoakChat[], ids: number[], said: Map<string, SoakChat>, paceMs: number, rand: () => number): Promise<void> {
  const first = Math.floor(rand() * chats.length);
  for (const [n, i] of ids.entries()) {
    const chat = chats[(first + n) % chats.length];
    said.set(`soak-${i}`, chat);
    await chat.say(`soak-${i} please acknowledge`);
    await sleep(paceMs * (0.5 + rand()));
  }
}

/** Kill the child at the next event of `kind` (or at once: `random`; or when the hook does not come in time). */
async function killOnce(fleet: Fleet, world: SoakWorld, kind: KillKind, rand: () => number): Promise<string> {
  const child = fleet.child;
  const killNow = async () => {
    child.proc.kill('SIGKILL');
    await child.exited;
  };
  if (kind === 'random') {
    await sleep(rand() * RANDOM_KILL_MAX_MS);
    await killNow();
    return kind;
  }
  world.arm(kind, killNow);
  if (await Promise.race([child.exited.then(() => true), sleep(HOOK_WAIT_MS).then(() => false)])) return kind;
  world.disarm();
  await killNow();
  return `random (no ${kind} within ${HOOK_WAIT_MS / 1000} s)`;
}

/**
 * K+1 batches of messages with a kill after each but the last: each kill waits for its hook point (the model's
 * last byte, a platform accepting a send) or comes at a random moment; the next batch is said while the child
 * restarts (the platforms keep what is said meanwhile; the local chat waits for the new process).
 */
async function drive(fleet: Fleet, world: SoakWorld, chats: SoakChat[], opts: Required<Pick<SoakOptions, 'messages' | 'kills' | 'paceMs'>>, rand: () => number, t0: number) {
  const kinds = Array.from({ length: opts.kills }, (_, k) => KINDS[k % KINDS.length]).sort(() => rand() - 0.5);
  const ids = Array.from({ length: opts.messages }, (_, i) => i + 1);
  // Whole rounds over the chats, so every hook point has fresh traffic on its platform (given enough messages).
  const perBatch = Math.ceil(opts.messages / (opts.kills + 1) / chats.length) * chats.length;
  const said = new Map<string, SoakChat>();
  const kills: { kind: string; atMs: number }[] = [];
  await sendBatch(chats, ids.splice(0, perBatch), said, opts.paceMs, rand);
  for (const kind of kinds) {
    const how = await killOnce(fleet, world, kind, rand);
    kills.push({ kind: how, atMs: Math.round(performance.now() - t0) });
    await Promise.all([fleet.restart(), sendBatch(chats, ids.splice(0, perBatch), said, opts.paceMs, rand)]);
  }
  await sendBatch(chats, ids, said, opts.paceMs, rand);
  return { said, kills };
}

/** Messages a person saw that answered nothing new: every soak id in them was answered by an earlier one. */
function repeats(seen: string[]): number {
  const answered = new Set<string>();
  let n = 0;
  for (const text of seen) {
    const ids = text.match(/soak-\d+/g) ?? [];
    if (ids.length && ids.every((id) => answered.has(id))) n++;
    ids.forEach((id) => answered.add(id));
  }
  return n;
}

/** Per chat: said, stored, answered, seen and duplicated soak ids. */
function tally(said: Map<string, SoakChat>, chats: SoakChat[], store: Store) {
  const perChat: SoakReport['perChat'] = {};
  const missing = { lost: 0, unanswered: 0 };
  const dups = new Map<string, number>();
  for (const chat of chats) {
    const ids = [...said].filter(([, c]) => c === chat).map(([id]) => id);
    const inbound = (store.db.prepare('SELECT text FROM messages WHERE chat_id = ? AND from_assistant = 0').all(chat.chatId) as { text: string }[]).map((r) => r.text).join('\n');
    const seen = chat.seen();
    const mentions = (id: string) => seen.filter((t) => new RegExp(`\\b${id}\\b`).test(t)).length;
    const stored = ids.filter((id) => new RegExp(`\\b${id}\\b`).test(inbound)).length;
    const answered = ids.filter((id) => mentions(id) > 0).length;
    const duplicates = repeats(seen);
    perChat[chat.name] = { said: ids.length, stored, answered, seen: seen.length, duplicates };
    missing.lost += ids.length - stored;
    missing.unanswered += ids.length - answered;
    dups.set(chat.name, duplicates);
  }
  return { perChat, ...missing, dups };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const opts = { seed: 17, paceMs: 150, settleMs: 60_000, ...options };
  const say = opts.progress ?? (() => undefined);
  const rand = random(opts.seed);
  const dataDir = sandboxReadableTempDir('carapace-soak-');
  const world = await startSoakWorld(dataDir);
  const t0 = performance.now();
  try {
    await registerGroups(dataDir, world);
    const fleet = new Fleet(dataDir, world);
    await fleet.start();
    const store = new Store(openDatabase(dataPaths(dataDir).db));
    const chats = world.chats(localChat((t) => fleet.sayLocal(t), () => store));
    say(`soak: ${opts.messages} messages over ${chats.length} chats, ${opts.kills} kills (seed ${opts.seed}); data in ${dataDir}`);
    const { said, kills } = await drive(fleet, world, chats, opts, rand, t0);
    say(`soak: all sent, ${kills.length} kills done; waiting for the answers`);
    const answeredAll = () => tally(said, chats, store).unanswered === 0;
    await until(answeredAll, opts.settleMs).catch(() => say('soak: not everything was answered in time'));
    await sleep(1500); // a duplicate would come now
    const counts = tally(said, chats, store);
    await fleet.child.kill('SIGTERM');
    store.db.close();
    const acceptKills = (name: string) => kills.filter((k) => k.kind === `accept:${name === 'telegram' ? 'tg' : name}`).length;
    let windowResends = 0;
    let duplicates = 0;
    for (const [name, n] of counts.dups) {
      const inWindow = AT_LEAST_ONCE.has(name) ? Math.min(n, acceptKills(name)) : 0;
      windowResends += inWindow;
      duplicates += n - inWindow;
    }
    const readyAll = fleet.readyMs.slice(1).map(Math.round).sort((a, b) => a - b);
    const report: SoakReport = {
      messages: opts.messages,
      kills,
      lost: counts.lost,
      unanswered: counts.unanswered,
      duplicates,
      windowResends,
      absorbedResends: chats.reduce((n, c) => n + c.absorbed(), 0),
      orphanedSandboxes: fleet.orphans + (await orphansAfter(dataDir)),
      leftoverTemp: leftoverTemp(dataDir),
      restartToReadyMs: { p50: readyAll[Math.floor(readyAll.length / 2)] ?? 0, max: readyAll.at(-1) ?? 0, all: readyAll },
      perChat: counts.perChat,
      durationMs: Math.round(performance.now() - t0),
      dataDir,
    };
    if (opts.reportFile) writeFileSync(opts.reportFile, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await world.close();
  }
}

/** The report's headline, one line: lost/unanswered/duplicates/orphans/leftovers and restart-to-ready. */
export function soakSummary(r: SoakReport): string {
  return (
    `lost ${r.lost} / unanswered ${r.unanswered} / duplicates ${r.duplicates} / orphaned sandboxes ${r.orphanedSandboxes} / leftover temp ${r.leftoverTemp}; ` +
    `restart-to-ready p50 ${r.restartToReadyMs.p50} ms, max ${r.restartToReadyMs.max} ms; ${r.kills.length} kills (${r.kills.map((k) => k.kind).join(', ')}); ` +
    `at-least-once re-sends (Telegram/Slack window) ${r.windowResends}; WhatsApp re-sends shown once ${r.absorbedResends}; ${r.messages} messages in ${(r.durationMs / 1000).toFixed(1)} s`
  );
}
