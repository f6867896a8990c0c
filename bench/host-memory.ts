// Host memory measured alone: the real `carapace start` in a child process (the fake API stays in the bench
// process), its RSS idle (first start and a restart), with more registered groups (the per-group cost), and its
// slope over a soak of chat messages answered by a (bwrap) agent. Targets: idle ≤ 100 MB, ≤ 1 MB per group, no growth.
import { readFileSync } from 'node:fs';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startChildCarapace, type ChildCarapace } from '../test/support/child-carapace.js';
import { startFakeAnthropic, type FakeAnthropic } from '../test/support/fake-anthropic.js';
import { sandboxReadableTempDir } from '../test/support/harness.js';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, places = 1) => Math.round(x * 10 ** places) / 10 ** places;

/** RSS once the process has settled: the median of a few samples after a pause. */
async function settledRss(pid: number): Promise<number> {
  await sleep(3000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++, await sleep(300)) samples.push(rssMb(pid));
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

/** Least-squares slope of RSS over time, in MB per minute. */
function slopePerMinute(points: { t: number; mb: number }[]): number {
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mm = points.reduce((a, p) => a + p.mb, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.mb - mm), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60_000;
}

/** The mean RSS of each minute of the soak. */
function perMinute(points: { t: number; mb: number }[]): number[] {
  const minutes: number[][] = [];
  for (const p of points) (minutes[Math.floor(p.t / 60_000)] ??= []).push(p.mb);
  return minutes.map((m) => round(m.reduce((a, x) => a + x, 0) / m.length));
}

/** Messages to the main chat every `everyMs` for `seconds`, each answered, RSS sampled as it goes. */
async function soak(child: ChildCarapace, fake: FakeAnthropic, seconds: number, everyMs: number) {
  const pid = child.proc.pid!;
  const points: { t: number; mb: number }[] = [];
  const t0 = Date.now();
  let sent = 0;
  let answered = 0;
  fake.onRequest((r) => {
    if (r.kind === 'main') answered++;
  });
  while (Date.now() - t0 < seconds * 1000) {
    const before = answered;
    await say(child, `soak message ${sent++}`);
    while (answered <= before) await sleep(10);
    fake.requests.length = 0; // an hour of recorded requests would fill this process's heap, not the host's
    points.push({ t: Date.now() - t0, mb: rssMb(pid) });
    await sleep(everyMs);
  }
  const half = Math.floor(points.length / 2);
  const mean = (p: typeof points) => round(p.reduce((a, x) => a + x.mb, 0) / p.length);
  // The first minutes include the heap growing to its working size; the second half's slope is the leak signal.
  return {
    seconds,
    messages: sent,
    slopeMbPerMin: round(slopePerMinute(points), 3),
    secondHalfSlopeMbPerMin: round(slopePerMinute(points.slice(half)), 3),
    firstHalfMb: mean(points.slice(0, half)),
    secondHalfMb: mean(points.slice(half)),
    peakMb: round(Math.max(...points.map((p) => p.mb))),
    perMinuteMb: perMinute(points),
  };
}

export async function hostMemory(opts: { groups: number; soakSeconds: number; everyMs?: number }) {
  const fake = await startFakeAnthropic();
  const dataDir = sandboxReadableTempDir('carapace-bench-mem-');
  const env = { LOG_LEVEL: 'warn', CARAPACE_IDLE_TIMEOUT_MS: '600000' };
  try {
    // The first start also migrates, audits and installs skills; a service's usual start is the next one.
    let child = await startChildCarapace(dataDir, fake.url, env);
    const firstStartMb = await settledRss(child.proc.pid!);
    await child.kill('SIGTERM');
    child = await startChildCarapace(dataDir, fake.url, env);
    const idleMb = await settledRss(child.proc.pid!);
    await child.kill('SIGTERM');
    addGroups(dataDir, opts.groups);
    child = await startChildCarapace(dataDir, fake.url, env);
    try {
      const withGroupsMb = await settledRss(child.proc.pid!);
      const perGroupMb = round((withGroupsMb - idleMb) / opts.groups, 3);
      const soaked = await soak(child, fake, opts.soakSeconds, opts.everyMs ?? 250);
      return { firstStartMb, idleMb, groupsAdded: opts.groups, withGroupsMb, perGroupMb, soak: soaked, target: 'idle ≤ 100 MB, ≤ 1 MB per group, slope ≈ 0' };
    } finally {
      await child.kill('SIGTERM');
    }
  } finally {
    await fake.close();
  }
}
