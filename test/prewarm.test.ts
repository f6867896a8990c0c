// Scheduled runs on the dot: the scheduler announces tasks `lead` ms ahead (hand-driven clock), and the
// orchestrator starts the group's sandbox then (real bwrap, real SDK), feeding the task in when it is due — but
// only into a free slot and never for a group whose budget is spent.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { CLAIM_AHEAD_MS, Scheduler, type SoonDue } from '../src/tasks/scheduler.js';
import { FakeClock } from './support/fake-clock.js';
import { defaultScript, text, toScriptRequest } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const LEAD = 3000;

function schedulerWithTasks() {
  const store = new Store(openDatabase(':memory:'));
  const a = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const b = store.registerGroup({ channel: 'local', chatId: 'local:b', name: 'B', folder: 'b', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const clock = new FakeClock(T0);
  const soon: { at: number; groups: SoonDue[] }[] = [];
  const due: { at: number; groups: number[] }[] = [];
  const scheduler = new Scheduler({
    tasks: store.tasks, timeZone: 'UTC', clock, log: pino({ level: 'silent' }), prewarmLeadMs: LEAD,
    onDue: (groups) => due.push({ at: clock.now(), groups }),
    onSoon: (groups) => soon.push({ at: clock.now(), groups }),
  });
  const task = (id: string, groupId: number, nextRun: number, extra: { scheduleType?: 'once' | 'interval'; scheduleValue?: string; contextMode?: 'isolated' | 'group' } = {}) =>
    store.tasks.create({ id, groupId, createdBy: 1, prompt: 'p', scheduleType: 'once', scheduleValue: new Date(nextRun).toISOString(), contextMode: 'isolated', anchorAt: nextRun, nextRun, ...extra }, T0);
  return { store, a, b, clock, soon, due, scheduler, task };
}

describe('the scheduler looks ahead', () => {
  it('announces each due task once, lead ms before it, with its group and session kind', () => {
    const { a, b, clock, soon, due, scheduler, task } = schedulerWithTasks();
    task('t1', a.id, T0 + 60_000);
    task('t2', b.id, T0 + 61_000, { contextMode: 'group' });
    task('t3', a.id, T0 + 3_600_000, { scheduleType: 'interval', scheduleValue: '1h' });
    scheduler.start();
    clock.advanceTo(T0 + 57_000 - 1);
    expect(soon).toEqual([]);
    clock.advanceTo(T0 + 57_000);
    expect(soon).toEqual([{ at: T0 + 57_000, groups: [{ groupId: a.id, isolated: true }] }]);
    clock.advanceTo(T0 + 61_000);
    expect(soon[1]).toEqual({ at: T0 + 58_000, groups: [{ groupId: b.id, isolated: false }] });
    expect(soon).toHaveLength(2);
    expect(due.map((d) => d.at)).toEqual([T0 + 60_000 - CLAIM_AHEAD_MS, T0 + 61_000 - CLAIM_AHEAD_MS]); // claimed a little ahead
    // The interval task: announced before each occurrence, every hour.
    clock.advanceTo(T0 + 2 * 3_600_000 + 1);
    expect(soon.slice(2).map((s) => s.at)).toEqual([T0 + 3_600_000 - LEAD, T0 + 2 * 3_600_000 - LEAD]);
  });

  it('a task added inside the lead time is announced at once; nothing is announced without an onSoon', () => {
    const { a, clock, soon, scheduler, task } = schedulerWithTasks();
    scheduler.start();
    clock.advanceTo(T0 + 10_000);
    task('late', a.id, T0 + 11_000);
    scheduler.reschedule();
    clock.advanceTo(T0 + 10_000);
    expect(soon).toEqual([{ at: T0 + 10_000, groups: [{ groupId: a.id, isolated: true }] }]);
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const runs = (x: Harness) => x.app.store.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as any[];
const taskRuns = (x: Harness) => x.app.store.db.prepare('SELECT * FROM task_runs ORDER BY id').all() as any[];
const taskScript = (req: ReturnType<typeof toScriptRequest>) =>
  /<scheduled_task/.test(req.lastUserText) ? { content: [text(`done: ${/<prompt>(.*)<\/prompt>/.exec(req.lastUserText)?.[1]}`)] } : defaultScript(req);

function scheduleOnce(x: Harness, id: string, groupId: number, dueAt: number, contextMode: 'isolated' | 'group') {
  x.app.store.tasks.create(
    { id, groupId, createdBy: 1, prompt: `task ${id}`, scheduleType: 'once', scheduleValue: new Date(dueAt).toISOString(), contextMode, anchorAt: dueAt, nextRun: dueAt },
    Date.now(),
  );
  x.app.orchestrator.scheduler.reschedule();
}

describe('sandboxes started ahead of due tasks', () => {
  it.each(['isolated', 'group'] as const)('a %s task runs in the sandbox started before it was due, and never early', async (contextMode) => {
    h = await startHarness({ script: taskScript });
    const dueAt = Date.now() + 4000;
    scheduleOnce(h, 'tsoon', 1, dueAt, contextMode);
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toBe('done: task tsoon');
    const [run] = runs(h);
    expect(run.started_at).toBeLessThan(dueAt); // the sandbox was up before the task was due …
    expect(run.isolated).toBe(contextMode === 'isolated' ? 1 : 0);
    expect(taskRuns(h)).toEqual([expect.objectContaining({ run_id: run.id, status: 'succeeded' })]); // … and the task ran in it
    const request = h.fake.requests.find((r) => r.kind === 'main' && /<scheduled_task/.test(toScriptRequest(r.body).lastUserText))!;
    expect(request.receivedAtEpochMs).toBeGreaterThanOrEqual(dueAt); // … but was not sent before its time
  });

  it('no sandbox ahead of time for a group whose budget is spent, nor when every slot is taken', async () => {
    h = await startHarness({ script: taskScript, env: { CARAPACE_MAX_SANDBOXES: '1' } });
    const { store, orchestrator } = h.app;
    const spent = orchestrator.registerGroup({ channel: 'local', chatId: 'local:spent', name: 'Spent', folder: 'spent', trigger: '@Andy', requiresTrigger: false, isMain: false });
    store.setContainerConfig(spent.id, { dailyTokenBudget: 100 });
    store.recordUsage({ groupId: spent.id, runId: 'earlier', inputTokens: 500, outputTokens: 50, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    scheduleOnce(h, 'tspent', spent.id, Date.now() + 1500, 'isolated');
    await until(() => taskRuns(h!).some((r) => r.status === 'skipped'), 10_000);
    expect(runs(h)).toEqual([]); // skipped when due, with nothing started before

    // The main chat's run holds the only slot (idle, after answering): another group's task waits for its due time.
    const other = orchestrator.registerGroup({ channel: 'local', chatId: 'local:other', name: 'Other', folder: 'other', trigger: '@Andy', requiresTrigger: false, isMain: false });
    await h.say('hello');
    await h.waitForReplies(1);
    const dueAt = Date.now() + 4000;
    scheduleOnce(h, 'tbusy', other.id, dueAt, 'isolated');
    await until(() => taskRuns(h!).some((r) => r.task_id === 'tbusy' && r.status === 'succeeded'), 30_000);
    const taskRun = runs(h).find((r) => r.id === taskRuns(h!).find((t) => t.task_id === 'tbusy').run_id);
    expect(taskRun.started_at).toBeGreaterThanOrEqual(dueAt - CLAIM_AHEAD_MS); // when claimed, not at the lead time
    const request = h.fake.requests.find((r) => r.kind === 'main' && /task tbusy/.test(toScriptRequest(r.body).lastUserText))!;
    expect(request.receivedAtEpochMs).toBeGreaterThanOrEqual(dueAt);
  });
});
