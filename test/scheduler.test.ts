// The scheduler and the task store under a hand-driven clock: one timer, claims in transactions, coalescing,
// no drift, pause/resume, DST — and the occurrence lifecycle the orchestrator drives.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runOp } from '../src/ops/registry.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { CLAIM_AHEAD_MS, MAX_SLEEP_MS, Scheduler } from '../src/tasks/scheduler.js';
import { hostWith } from './support/ops-host.js';
import { FakeClock } from './support/fake-clock.js';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);
const silent = pino({ level: 'silent' });

/** `autoRun`: every claimed occurrence starts and finishes at once, as if the group were always free. */
function setup(start: string, timeZone = 'UTC', autoRun = false) {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const clock = new FakeClock(at(start));
  const due: number[][] = [];
  let runs = 0;
  const onDue = (groups: number[]) => {
    due.push(groups);
    if (!autoRun) return;
    for (const { occurrence } of store.tasks.startable(1)) {
      const id = `auto${++runs}`;
      store.startRun({ id, groupId: 1, attempt: 1, fromMessage: 0, toMessage: 0, sandbox: 's', taskRun: occurrence.id });
      store.tasks.completeAnswered(id, 0, 'ok');
    }
  };
  const scheduler = new Scheduler({ tasks: store.tasks, timeZone, clock, log: silent, onDue });
  const env = { timeZone, minIntervalMs: MIN, now: () => clock.now(), changed: () => scheduler.reschedule() };
  const op = (name: string, args: unknown) => runOp({ group: main, runId: 'r', seq: 1, store, host: hostWith(store, env) }, name, args) as Promise<any>;
  const occurrences = (taskId: string) => store.tasks.history(taskId, 1000).reverse();
  return { store, main, clock, due, scheduler, op, occurrences };
}

describe('scheduler', () => {
  it('arms exactly one timer, for the earliest of a thousand tasks, and claims it when due', async () => {
    const { store, clock, due, scheduler, op, occurrences } = setup('2026-01-01T00:00:00Z');
    scheduler.start();
    const other = store.registerGroup({ channel: 'local', chatId: 'local:bulk', name: 'Bulk', folder: 'bulk', trigger: '@Andy', requiresTrigger: true, isMain: false });
    for (let i = 0; i < 999; i++) {
      store.tasks.create(
        { id: `bulk${i}`, groupId: other.id, createdBy: 1, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'isolated', anchorAt: clock.now(), nextRun: clock.now() + 3_000_000 + i * 1000 },
        clock.now(),
      );
    }
    const early = await op('schedule_task', { prompt: 'ping', schedule_type: 'once', schedule_value: '2026-01-01 00:05', context_mode: 'isolated' });
    // Claimed CLAIM_AHEAD_MS before it is due (its run holds the model call until then).
    const claimAt = at('2026-01-01T00:05:00Z') - CLAIM_AHEAD_MS;
    expect(clock.pending).toEqual([claimAt]);
    expect(scheduler.nextWake).toBe(claimAt);

    clock.advance(5 * MIN - CLAIM_AHEAD_MS - 1);
    expect(due).toEqual([]);
    clock.advance(1);
    expect(due).toEqual([[1]]);
    expect(occurrences(early.id).map((o) => [o.status, o.trigger, o.dueAt, o.claimedAt])).toEqual([['claimed', 'schedule', at('2026-01-01T00:05:00Z'), claimAt]]);
    expect(store.tasks.get(early.id)).toMatchObject({ status: 'completed', nextRun: null });
    // Still one timer: for the bulk tasks' earliest (00:50), cut at the longest sleep.
    expect(clock.pending).toEqual([claimAt + MAX_SLEEP_MS]);
  });

  it('claims an occurrence once even when two schedulers (a restart racing the old process) fire together', () => {
    const a = setup('2026-01-01T00:00:00Z');
    const task = a.store.tasks.create(
      { id: 'tx', groupId: 1, createdBy: 1, prompt: 'p', scheduleType: 'interval', scheduleValue: '1m', contextMode: 'group', anchorAt: a.clock.now(), nextRun: a.clock.now() + MIN },
      a.clock.now(),
    );
    const other = new Scheduler({ tasks: a.store.tasks, timeZone: 'UTC', clock: a.clock, log: silent, onDue: (g) => a.due.push(g) });
    a.scheduler.start();
    other.start();
    a.clock.advance(MIN);
    expect(a.due).toEqual([[1]]);
    expect(a.occurrences(task.id)).toHaveLength(1);
  });

  it('keeps an interval on its grid however long runs take, and coalesces beats missed while one waits', () => {
    const { store, clock, due, scheduler, occurrences } = setup('2026-01-01T00:00:00Z');
    store.tasks.create(
      { id: 'iv', groupId: 1, createdBy: 1, prompt: 'p', scheduleType: 'interval', scheduleValue: '10m', contextMode: 'group', anchorAt: clock.now(), nextRun: clock.now() + 10 * MIN },
      clock.now(),
    );
    scheduler.start();
    clock.advance(10 * MIN); // first beat claimed; nobody starts it (the group is busy) …
    clock.advance(25 * MIN); // … so the 20- and 30-minute beats find it still waiting and add nothing
    expect(due).toHaveLength(1);
    expect(occurrences('iv').map((o) => o.dueAt)).toEqual([at('2026-01-01T00:10:00Z')]);
    expect(store.tasks.get('iv')!.nextRun).toBe(at('2026-01-01T00:40:00Z'));

    // It starts and takes 13 minutes; the 40- and 50-minute beats are claimed on time, one at a time.
    const [first] = store.tasks.startable(1);
    store.startRun({ id: 'run1', groupId: 1, attempt: 1, fromMessage: 0, toMessage: 0, sandbox: 's', taskRun: first.occurrence.id });
    clock.advance(5 * MIN); // 00:40
    store.tasks.completeAnswered('run1', 0, 'done');
    clock.advance(10 * MIN); // 00:50: the 00:40 beat is still waiting, so this one coalesces into it
    expect(occurrences('iv').map((o) => [new Date(o.dueAt).toISOString().slice(11, 16), o.status])).toEqual([
      ['00:10', 'succeeded'],
      ['00:40', 'claimed'],
    ]);
    expect(store.tasks.get('iv')!.nextRun).toBe(at('2026-01-01T01:00:00Z'));
  });

  it('runs occurrences missed while the assistant was down once, then follows the schedule from now', () => {
    const { store, clock, due, scheduler, occurrences } = setup('2026-01-01T05:35:00Z');
    store.tasks.create(
      { id: 'h', groupId: 1, createdBy: 1, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: at('2026-01-01T00:00:00Z'), nextRun: at('2026-01-01T01:00:00Z') },
      clock.now(),
    );
    store.tasks.create(
      { id: 'c', groupId: 1, createdBy: 1, prompt: 'p', scheduleType: 'cron', scheduleValue: '0 9 * * *', contextMode: 'group', anchorAt: 0, nextRun: at('2025-12-29T09:00:00Z') },
      clock.now(),
    );
    scheduler.start();
    expect(due).toEqual([[1]]);
    expect(occurrences('h').map((o) => o.dueAt)).toEqual([at('2026-01-01T01:00:00Z')]);
    expect(occurrences('c').map((o) => o.dueAt)).toEqual([at('2025-12-29T09:00:00Z')]);
    expect(store.tasks.get('h')!.nextRun).toBe(at('2026-01-01T06:00:00Z'));
    expect(store.tasks.get('c')!.nextRun).toBe(at('2026-01-01T09:00:00Z'));
  });

  it('fires a cron task at 09:00 local on each side of a DST change', async () => {
    const { clock, scheduler, op, occurrences } = setup('2026-03-27T12:00:00Z', 'Europe/Berlin', true);
    scheduler.start();
    const task = await op('schedule_task', { prompt: 'morning', schedule_type: 'cron', schedule_value: '0 9 * * *' });
    expect(task.nextRun).toBe('2026-03-28 09:00 +01:00');
    clock.advanceTo(at('2026-03-31T12:00:00Z'));
    expect(occurrences(task.id).map((o) => [new Date(o.dueAt).toISOString(), o.status])).toEqual([
      ['2026-03-28T08:00:00.000Z', 'succeeded'],
      ['2026-03-29T07:00:00.000Z', 'succeeded'],
      ['2026-03-30T07:00:00.000Z', 'succeeded'],
      ['2026-03-31T07:00:00.000Z', 'succeeded'],
    ]);
  });

  it('stops timing a paused task and resumes on its next beat; a one-off missed while paused runs once on resume', async () => {
    const { clock, scheduler, op, occurrences } = setup('2026-01-01T00:00:00Z');
    scheduler.start();
    const every = await op('schedule_task', { prompt: 'p', schedule_type: 'interval', schedule_value: '10m' });
    const once = await op('schedule_task', { prompt: 'q', schedule_type: 'once', schedule_value: '2026-01-01 00:15' });
    await op('pause_task', { task_id: every.id });
    await op('pause_task', { task_id: once.id });
    expect(clock.pending).toEqual([]);
    clock.advance(32 * MIN);
    expect(occurrences(every.id)).toEqual([]);

    const resumed = await op('resume_task', { task_id: every.id });
    expect(resumed).toMatchObject({ status: 'active', nextRun: '2026-01-01 00:40 +00:00' }); // on the original grid
    const late = await op('resume_task', { task_id: once.id });
    expect(late.nextRun).toBe('2026-01-01 00:32 +00:00');
    expect(clock.pending).toEqual([clock.now()]);
    clock.advance(0);
    expect(occurrences(once.id).map((o) => o.status)).toEqual(['claimed']);
    await expect(op('resume_task', { task_id: every.id })).rejects.toThrow(`Task ${every.id} is active, not paused.`);
  });

  it('re-checks the wall clock at least every MAX_SLEEP_MS while waiting for a far task', async () => {
    const { clock, due, scheduler, op } = setup('2026-01-01T00:00:00Z');
    scheduler.start();
    await op('schedule_task', { prompt: 'p', schedule_type: 'once', schedule_value: '2026-01-03 00:00' });
    expect(clock.pending).toEqual([clock.now() + MAX_SLEEP_MS]);
    clock.advanceTo(at('2026-01-03T00:00:00Z'));
    expect(due).toEqual([[1]]);
  });
});

describe('task occurrences', () => {
  it('run by hand once at a time, without touching the schedule', async () => {
    const { store, op, occurrences } = setup('2026-01-01T00:00:00Z');
    const task = await op('schedule_task', { prompt: 'p', schedule_type: 'interval', schedule_value: '1h' });
    store.tasks.claimManual(task.id, 1);
    expect(() => store.tasks.claimManual(task.id, 2)).toThrow(`task ${task.id} already has a run waiting to start`);
    expect(occurrences(task.id).map((o) => [o.trigger, o.status])).toEqual([['manual', 'claimed']]);
    expect(store.tasks.get(task.id)!.nextRun).toBe(at('2026-01-01T01:00:00Z'));
  });

  it('of cancelled tasks, and scheduled ones of paused tasks, are skipped instead of started', async () => {
    const { store, clock, scheduler, op, occurrences } = setup('2026-01-01T00:00:00Z');
    scheduler.start();
    const a = await op('schedule_task', { prompt: 'a', schedule_type: 'interval', schedule_value: '1m' });
    const b = await op('schedule_task', { prompt: 'b', schedule_type: 'interval', schedule_value: '1m' });
    clock.advance(MIN);
    await op('cancel_task', { task_id: a.id });
    await op('pause_task', { task_id: b.id });
    expect(store.tasks.startable(1)).toEqual([]);
    expect(occurrences(a.id).map((o) => [o.status, o.error])).toEqual([['skipped', 'task was cancelled before this run started']]);
    expect(occurrences(b.id)[0]).toMatchObject({ status: 'skipped', error: 'task was paused before this run started' });
    store.tasks.claimManual(b.id, clock.now());
    expect(store.tasks.startable(1).map((s) => [s.task.id, s.occurrence.trigger])).toEqual([[b.id, 'manual']]);
  });

  it('end with their run: answered ones succeed, untouched ones wait again or fail, orphans are abandoned', async () => {
    const { store, op, occurrences } = setup('2026-01-01T00:00:00Z');
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await op('schedule_task', { prompt: `p${i}`, schedule_type: 'interval', schedule_value: '1h' })).id);
    const [o0, o1, o2, o3] = ids.map((id) => store.tasks.claimManual(id, 5));
    store.startRun({ id: 'run1', groupId: 1, attempt: 1, fromMessage: 0, toMessage: 0, sandbox: 's', taskRun: o0.id });
    store.tasks.attach(o1.id, 'run1', 3);
    store.tasks.completeAnswered('run1', 2, '<reply>'.repeat(200));
    expect(store.tasks.runById(o0.id)).toMatchObject({ status: 'succeeded', runId: 'run1', inputSeq: 0 });
    expect(store.tasks.runById(o0.id)!.result).toHaveLength(500);
    expect(store.tasks.endAttached('run1', 'unstarted').map((o) => o.id)).toEqual([o1.id]);
    expect(store.tasks.runById(o1.id)).toMatchObject({ status: 'claimed', runId: null, inputSeq: null });

    store.startRun({ id: 'run2', groupId: 1, attempt: 1, fromMessage: 0, toMessage: 0, sandbox: 's', taskRun: o1.id });
    store.tasks.endAttached('run2', { status: 'failed', error: 'sandbox exited with code 1' });
    expect(store.tasks.runById(o1.id)).toMatchObject({ status: 'failed', error: 'sandbox exited with code 1' });

    store.startRun({ id: 'run3', groupId: 1, attempt: 1, fromMessage: 0, toMessage: 0, sandbox: 's', taskRun: o2.id });
    expect(store.tasks.abandonRunning('gone').map((o) => o.id)).toEqual([o2.id]);
    expect(occurrences(ids[2])[0]).toMatchObject({ status: 'abandoned', error: 'gone' });
    expect(store.tasks.runById(o3.id)!.status).toBe('claimed'); // never started: it simply runs later
  });
});
