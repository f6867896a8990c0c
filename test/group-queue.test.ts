import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';
import { GroupQueue, type RunOutcome } from '../src/queue/group-queue.js';

/** A run the test finishes by hand. */
function controllableRuns() {
  const started: { group: number; attempt: number; finish: (o: RunOutcome) => void }[] = [];
  const run = (group: number, attempt: number) =>
    new Promise<RunOutcome>((resolve) => started.push({ group, attempt, finish: resolve }));
  return { started, run };
}
const tick = () => new Promise((r) => setImmediate(r));

function manualTimers() {
  const timers: { fn: () => void; ms: number }[] = [];
  return {
    timers,
    setTimer: (fn: () => void, ms: number) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  };
}

describe('GroupQueue', () => {
  it('never runs more than the cap, and admits waiting groups in arrival order', async () => {
    const { started, run } = controllableRuns();
    const q = new GroupQueue({ maxConcurrent: 2, run, retry: { baseMs: 1, maxMs: 1, maxAttempts: 3 }, onGiveUp: () => {} });
    for (const g of [1, 2, 3, 4, 5]) q.enqueue(g);
    expect(started.map((s) => s.group)).toEqual([1, 2]);
    expect(q.waitingGroups).toEqual([3, 4, 5]);
    started[1].finish('done');
    await tick();
    expect(started.map((s) => s.group)).toEqual([1, 2, 3]);
    started[0].finish('done');
    await tick();
    expect(started.map((s) => s.group)).toEqual([1, 2, 3, 4]);
    expect(q.activeCount).toBe(2);
  });

  it('runs one group at a time; new work during a run goes behind groups already waiting', async () => {
    const { started, run } = controllableRuns();
    const q = new GroupQueue({ maxConcurrent: 1, run, retry: { baseMs: 1, maxMs: 1, maxAttempts: 3 }, onGiveUp: () => {} });
    q.enqueue(1);
    q.enqueue(2);
    q.enqueue(1); // more work for the running group
    q.enqueue(1); // coalesced
    expect(started.map((s) => s.group)).toEqual([1]);
    started[0].finish('done');
    await tick();
    expect(started.map((s) => s.group)).toEqual([1, 2]); // 2 was waiting first: fairness
    started[1].finish('done');
    await tick();
    expect(started.map((s) => s.group)).toEqual([1, 2, 1]);
  });

  it('asks for an idle run to be closed when saturated', () => {
    const { run } = controllableRuns();
    let saturated = 0;
    const q = new GroupQueue({ maxConcurrent: 1, run, retry: { baseMs: 1, maxMs: 1, maxAttempts: 3 }, onGiveUp: () => {}, onSaturated: () => saturated++ });
    q.enqueue(1);
    expect(saturated).toBe(0);
    q.enqueue(2);
    expect(saturated).toBe(1);
  });

  it('retries a failed group with capped exponential backoff, then gives up', async () => {
    const { started, run } = controllableRuns();
    const t = manualTimers();
    const gaveUp: [number, number][] = [];
    const q = new GroupQueue({
      maxConcurrent: 2,
      run,
      retry: { baseMs: 100, maxMs: 250, maxAttempts: 4 },
      onGiveUp: (g, n) => gaveUp.push([g, n]),
      setTimer: t.setTimer,
      clearTimer: t.clearTimer,
    });
    q.enqueue(7);
    for (let i = 0; i < 3; i++) {
      started.at(-1)!.finish('retry');
      await tick();
      q.enqueue(7); // a retry pending: not started early
      expect(started).toHaveLength(i + 1);
      t.timers.at(-1)!.fn();
    }
    expect(t.timers.map((x) => x.ms)).toEqual([100, 200, 250]);
    expect(started.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    started.at(-1)!.finish('retry');
    await tick();
    expect(gaveUp).toEqual([[7, 4]]);
  });

  it('a thrown run counts as a failure, and success resets the attempt count', async () => {
    const t = manualTimers();
    const attempts: number[] = [];
    let fail = true;
    const q = new GroupQueue({
      maxConcurrent: 1,
      run: async (_g, attempt) => {
        attempts.push(attempt);
        if (fail) throw new Error('boom');
        return 'done';
      },
      retry: { baseMs: 10, maxMs: 10, maxAttempts: 5 },
      onGiveUp: () => {},
      onError: () => {},
      setTimer: t.setTimer,
    });
    q.enqueue(1);
    await tick();
    fail = false;
    t.timers[0].fn();
    await tick();
    q.enqueue(1);
    await tick();
    expect(attempts).toEqual([1, 2, 1]);
  });

  it('progress made by a run resets the failure count for later messages', async () => {
    const { started, run } = controllableRuns();
    const t = manualTimers();
    const gaveUp: number[] = [];
    const q = new GroupQueue({ maxConcurrent: 1, run, retry: { baseMs: 1, maxMs: 1, maxAttempts: 2 }, onGiveUp: (g) => gaveUp.push(g), setTimer: t.setTimer });
    q.enqueue(1);
    started[0].finish('retry'); // attempt 1 failed
    await tick();
    t.timers[0].fn();
    q.noteProgress(1); // attempt 2 answered, then failed on a later message
    started[1].finish('retry');
    await tick();
    expect(gaveUp).toEqual([]); // a fresh count: retried, not given up
    expect(t.timers).toHaveLength(2);
  });

  it('backoff doubles and is capped', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});
