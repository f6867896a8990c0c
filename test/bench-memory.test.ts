// The memory soak's readers and summary (bench/proc-memory.ts, bench/soak-summary.ts): /proc read from this very
// process, and the warm-up / slope / what-grew arithmetic on a known series.
import { describe, expect, it } from 'vitest';
import { mappingGrowth, residentByMapping, statusMemory } from '../bench/proc-memory.js';
import { summariseSoak, type SoakPoint } from '../bench/soak-summary.js';

describe('proc-memory', () => {
  it('splits VmRSS into its anonymous, file-backed and shared parts', () => {
    const m = statusMemory(process.pid);
    expect(m.rssMb).toBeGreaterThan(10);
    expect(m.anonMb).toBeGreaterThan(0);
    expect(m.fileMb).toBeGreaterThan(0);
    expect(Math.abs(m.anonMb + m.fileMb + m.shmemMb - m.rssMb)).toBeLessThanOrEqual(0.3);
  });

  it('attributes resident memory to mappings that add up to the RSS', () => {
    const before = residentByMapping(process.pid);
    const total = Object.values(before).reduce((a, x) => a + x, 0);
    expect(Math.abs(total - statusMemory(process.pid).rssMb)).toBeLessThan(Math.max(2, total * 0.05));
    expect(before['node']).toBeGreaterThan(1); // the binary's text, by file name
    const held = Buffer.alloc(40 * 2 ** 20, 1); // touched, so resident: a large allocation is its own anonymous map
    const grew = mappingGrowth(before, residentByMapping(process.pid));
    expect(grew['[anon]']).toBeGreaterThanOrEqual(39);
    expect(held.length).toBe(40 * 2 ** 20);
  });

  it('reports only changes of at least the threshold, largest first', () => {
    expect(mappingGrowth({ a: 10, b: 5, c: 1 }, { a: 10.2, b: 1, d: 3 })).toEqual({ b: -4, d: 3, c: -1 });
  });
});

describe('summariseSoak', () => {
  // Ten minutes, a reading a second: anonymous memory climbs 30 MB over the first 3 minutes, then holds.
  const points: SoakPoint[] = Array.from({ length: 600 }, (_, s) => {
    const anonMb = 50 + Math.min(s, 180) / 6;
    return { t: s * 1000, rssMb: anonMb + 52, anonMb, fileMb: 52, shmemMb: 0 };
  });

  it('leaves the warm-up out of the slope and ceiling, and says that anonymous memory grew', () => {
    const s = summariseSoak(points, 180_000);
    expect(s.warmupSeconds).toBe(180);
    expect(s.slopeAfterWarmupMbPerMin).toBe(0);
    expect(s.ceilingAfterWarmupMb).toBe(132);
    expect(s.slopeMbPerMin).toBeGreaterThan(1);
    // The first minute's mean is 50 + 29.5 / 6 = 54.9 MB anonymous, the last minute's 80.
    expect(s.grewFirstToLastMinute).toEqual({ rssMb: 25.1, anonMb: 25.1, fileMb: 0, shmemMb: 0 });
    expect(s.whatGrew).toContain('RssAnon +25.1, RssFile +0');
    expect(s.perMinute).toHaveLength(10);
  });
});
