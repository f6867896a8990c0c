// A memory soak's samples summed up: the slope and ceiling after a stated warm-up, minute by minute, and what grew
// (anonymous, file-backed or shared memory; which mappings; the V8 heap vs the rest).
import type { StatusMemory } from './proc-memory.js';
import { round } from './stats.js';

/** One reading taken after an answered message; `js` is the process's own view (bench/memory-probe.ts), if read. */
export interface SoakPoint extends StatusMemory {
  t: number;
  js?: Record<string, number>;
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length);

/** Least-squares slope of `value` over time, in MB per minute. */
function slopePerMinute(points: SoakPoint[], value: (p: SoakPoint) => number): number {
  if (points.length < 2) return 0;
  const mt = mean(points.map((p) => p.t));
  const mv = mean(points.map(value));
  const num = points.reduce((a, p) => a + (p.t - mt) * (value(p) - mv), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60_000;
}

/** Each minute's mean RSS and its parts, with the JS view at the minute's last reading. */
function perMinute(points: SoakPoint[]) {
  const minutes: SoakPoint[][] = [];
  for (const p of points) (minutes[Math.floor(p.t / 60_000)] ??= []).push(p);
  return minutes.map((m, minute) => {
    const avg = (f: (p: SoakPoint) => number) => round(mean(m.map(f)));
    const js = [...m].reverse().find((p) => p.js)?.js ?? {};
    return {
      minute,
      rssMb: avg((p) => p.rssMb),
      anonMb: avg((p) => p.anonMb),
      fileMb: avg((p) => p.fileMb),
      shmemMb: avg((p) => p.shmemMb),
      heapTotalMb: js.heapTotalMb,
      newSpaceMb: js.new_spaceMb,
      externalMb: js.externalMb,
    };
  });
}

/** The first minute's mean against the last minute's, for RSS and each of its parts. */
function growth(minutes: ReturnType<typeof perMinute>) {
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  const delta = (k: 'rssMb' | 'anonMb' | 'fileMb' | 'shmemMb') => round(last[k] - first[k]);
  return { rssMb: delta('rssMb'), anonMb: delta('anonMb'), fileMb: delta('fileMb'), shmemMb: delta('shmemMb') };
}

/** The soak's figures; the warm-up is the first `warmupMs` (the heap and the allocator growing to working size). */
export function summariseSoak(points: SoakPoint[], warmupMs: number) {
  const settled = points.filter((p) => p.t >= warmupMs);
  const minutes = perMinute(points);
  const grew = growth(minutes);
  const rss = (p: SoakPoint) => p.rssMb;
  return {
    warmupSeconds: Math.round(warmupMs / 1000),
    slopeAfterWarmupMbPerMin: round(slopePerMinute(settled, rss), 3),
    anonSlopeAfterWarmupMbPerMin: round(slopePerMinute(settled, (p) => p.anonMb), 3),
    fileSlopeAfterWarmupMbPerMin: round(slopePerMinute(settled, (p) => p.fileMb), 3),
    ceilingAfterWarmupMb: round(Math.max(...settled.map(rss))),
    meanAfterWarmupMb: round(mean(settled.map(rss))),
    slopeMbPerMin: round(slopePerMinute(points, rss), 3),
    peakMb: round(Math.max(...points.map(rss))),
    grewFirstToLastMinute: grew,
    whatGrew: `RSS ${signed(grew.rssMb)} MB (first minute → last): RssAnon ${signed(grew.anonMb)}, RssFile ${signed(grew.fileMb)}, RssShmem ${signed(grew.shmemMb)}`,
    perMinute: minutes,
  };
}

const signed = (x: number) => (x >= 0 ? `+${x}` : `${x}`);
