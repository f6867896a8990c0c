// Host memory measured alone: the real `carapace start` in a child process (the fake API stays in the bench
// process), its RSS idle (first start and a restart), with more registered groups (the per-group cost), and its
// slope over a soak of chat messages answered by a (bwrap) agent. Targets: idle ≤ 100 MB, ≤ 1 MB per group, no growth.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_ROOT } from '../src/app-root.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startChildCarapace, type ChildCarapace } from '../test/support/child-carapace.js';
import { startFakeAnthropic, type FakeAnthropic } from '../test/support/fake-anthropic.js';
import { sandboxReadableTempDir } from '../test/support/harness.js';
import { mappingGrowth, residentByMapping, statusMemory } from './proc-memory.js';
import { summariseSoak, type SoakPoint } from './soak-summary.js';
import { round } from './stats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS once the process has settled: the median of a few samples after a pause. */
async function settledRss(pid: number): Promise<number> {
  await sleep(3000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++, await sleep(300)) samples.push(statusMemory(pid).rssMb);
  return round(samples.sort((a, b) => a - b)[2]);
}

function addGroups(dataDir: string, count: number): void {
  const store = new Store(openDatabase(dataPaths(dataDir).db));
  store.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const chatId = `local:mem${i}`;
      store.upsertChat({ chatId, name: `Mem ${i}`, isGroup: true });
      store.registerGroup({ channel: 'local', chatId, name: `Mem ${i}`, folder: `mem${i}`, trigger: '@Andy', requiresTrigger: true, isMain: false });
    }
  })();
  store.db.close();
}

async function say(child: ChildCarapace, text: string): Promise<void> {
  const res = await fetch(`${child.url}api/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  if (res.status !== 202) throw new Error(`message refused: ${res.status}`);
}

/** The process's own view of its memory, as bench/memory-probe.ts last wrote it (none before its first second). */
function jsMemory(dataDir: string): Record<string, number> | undefined {
  const file = join(dataDir, 'memory-usage.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** Counts the answered main-loop calls and remembers the size of the last request body (the conversation so far). */
function watchCalls(fake: FakeAnthropic) {
  const calls = { answered: 0, lastBodyKb: 0 };
  fake.onRequest((r) => {
    if (r.kind !== 'main') return;
    calls.answered++;
    calls.lastBodyKb = Math.round(Number(r.headers['content-length'] ?? 0) / 1024);
  });
  return calls;
}

export interface SoakOptions {
  seconds: number;
  everyMs: number;
  /** The first part of the soak that the slope and ceiling leave out. */
  warmupSeconds: number;
  /** Send /clear every this many messages (0: never), so the conversation, and each request with it, stays small. */
  clearEvery: number;
}

/** Messages to the main chat every `everyMs` for `seconds`, each answered, memory sampled as it goes. */
async function soak(child: ChildCarapace, dataDir: string, fake: FakeAnthropic, opts: SoakOptions) {
  const pid = child.proc.pid!;
  const points: SoakPoint[] = [];
  const calls = watchCalls(fake);
  const mappings = { start: residentByMapping(pid), warm: undefined as Record<string, number> | undefined };
  const t0 = Date.now();
  let sent = 0;
  let lastJs = -Infinity;
  while (Date.now() - t0 < opts.seconds * 1000) {
    if (opts.clearEvery > 0 && sent > 0 && sent % opts.clearEvery === 0) await say(child, '/clear');
    const before = calls.answered;
    await say(child, `soak message ${sent++}`);
    while (calls.answered <= before) await sleep(10);
    fake.requests.length = 0; // an hour of recorded requests would fill this process's heap, not the host's
    const t = Date.now() - t0;
    const js = t - lastJs >= 10_000 ? jsMemory(dataDir) : undefined;
    if (js) lastJs = t;
    points.push({ t, ...statusMemory(pid), ...(js && { js: { ...js, requestKb: calls.lastBodyKb } }) });
    if (!mappings.warm && t >= opts.warmupSeconds * 1000) mappings.warm = residentByMapping(pid);
    await sleep(opts.everyMs);
  }
  const end = residentByMapping(pid);
  return {
    seconds: opts.seconds,
    messages: sent,
    lastRequestKb: calls.lastBodyKb,
    ...summariseSoak(points, opts.warmupSeconds * 1000),
    mappingGrowth: mappingGrowth(mappings.start, end),
    mappingGrowthAfterWarmup: mappings.warm && mappingGrowth(mappings.warm, end),
    residentByMappingAtEnd: end,
    jsAtEnd: jsMemory(dataDir),
  };
}

/** `carapace start` with bench/memory-probe.ts loaded, and any node flags under test before it. */
const withProbe = (nodeFlags: string[]) => [...nodeFlags, '--import', fileURLToPath(new URL('./memory-probe.js', import.meta.url)), join(APP_ROOT, 'bin', 'carapace.js'), 'start'];

export interface HostMemoryOptions {
  groups: number;
  soakSeconds: number;
  everyMs?: number;
  warmupSeconds?: number;
  clearEvery?: number;
  /** Process settings under test for the soaked process: node flags, GLIBC_TUNABLES. */
  nodeFlags?: string[];
  glibcTunables?: string;
}

export async function hostMemory(opts: HostMemoryOptions) {
  const fake = await startFakeAnthropic();
  const dataDir = sandboxReadableTempDir('carapace-bench-mem-');
  const tunables: Record<string, string> = opts.glibcTunables ? { GLIBC_TUNABLES: opts.glibcTunables } : {};
  const env = { LOG_LEVEL: 'warn', CARAPACE_IDLE_TIMEOUT_MS: '600000' };
  // Idle figures are of Carapace alone; only the soaked process carries the probe and the settings under test.
  const start = (probed = false) =>
    probed ? startChildCarapace(dataDir, fake.url, { ...env, ...tunables }, withProbe(opts.nodeFlags ?? [])) : startChildCarapace(dataDir, fake.url, env);
  try {
    // The first start also migrates, audits and installs skills; a service's usual start is the next one.
    let child = await start();
    const firstStartMb = await settledRss(child.proc.pid!);
    await child.kill('SIGTERM');
    child = await start();
    const idleMb = await settledRss(child.proc.pid!);
    await child.kill('SIGTERM');
    addGroups(dataDir, opts.groups);
    child = await start();
    const withGroupsMb = await settledRss(child.proc.pid!);
    await child.kill('SIGTERM');
    const perGroupMb = round((withGroupsMb - idleMb) / opts.groups, 3);
    child = await start(true);
    try {
      const soaked = await soak(child, dataDir, fake, {
        seconds: opts.soakSeconds,
        everyMs: opts.everyMs ?? 250,
        warmupSeconds: opts.warmupSeconds ?? opts.soakSeconds / 2,
        clearEvery: opts.clearEvery ?? 0,
      });
      return { firstStartMb, idleMb, groupsAdded: opts.groups, withGroupsMb, perGroupMb, soak: soaked, target: 'idle ≤ 100 MB, ≤ 1 MB per group, slope ≈ 0' };
    } finally {
      await child.kill('SIGTERM');
    }
  } finally {
    await fake.close();
  }
}
