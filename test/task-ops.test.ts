// Task tools on the host: what each group may see and do, and the errors bad input gets.
import { describe, expect, it } from 'vitest';
import { OpError, runOp } from '../src/ops/registry.js';
import { MAX_ACTIVE_TASKS_PER_GROUP } from '../src/ops/task-ops.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';
import { hostWith } from './support/ops-host.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');

function setup(minIntervalMs = 60_000) {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const family = store.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const work = store.registerGroup({ channel: 'local', chatId: 'local:work', name: 'Work', folder: 'work', trigger: '@Andy', requiresTrigger: true, isMain: false });
  let changes = 0;
  const env = { timeZone: 'Europe/Berlin', minIntervalMs, now: () => NOW, changed: () => changes++ };
  const as = (group: Group) => (op: string, args: unknown) => runOp({ group, runId: 'r', seq: 1, store, host: hostWith(store, env) }, op, args) as Promise<any>;
  return { store, main: as(main), family: as(family), work: as(work), changes: () => changes, groups: { main, family, work } };
}

/** Give a group `n` more active tasks straight through the store, as if scheduled earlier. */
function fill(store: Store, group: Group, n: number) {
  for (let i = 0; i < n; i++) {
    store.tasks.create(
      { id: `fill-${group.folder}-${i}`, groupId: group.id, createdBy: group.id, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: NOW, nextRun: NOW + 3_600_000 },
      NOW,
    );
  }
}

const daily = { prompt: 'Summarize the day', schedule_type: 'cron', schedule_value: '0 18 * * *' };

describe('task operations', () => {
  it('schedule a task for the asking group, in its timezone, and tell the scheduler', async () => {
    const { family, changes } = setup();
    const task = await family('schedule_task', daily);
    expect(task).toMatchObject({
      id: expect.stringMatching(/^t[0-9a-f]{8}$/),
      group: 'family',
      schedule: 'cron 0 18 * * *',
      contextMode: 'group',
      status: 'active',
      nextRun: '2026-11-24 18:00 +01:00',
      lastRun: null,
    });
    expect(changes()).toBe(1);
  });

  it("keep each group to its own tasks: another group's task looks like no task at all", async () => {
    const { family, work } = setup();
    const mine = await family('schedule_task', daily);
    await work('schedule_task', { ...daily, prompt: 'work summary' });
    expect((await family('list_tasks', {})).map((t: any) => t.prompt)).toEqual(['Summarize the day']);
    for (const op of ['pause_task', 'resume_task', 'cancel_task']) {
      await expect(work(op, { task_id: mine.id })).rejects.toThrow(new OpError(`No task with id "${mine.id}".`));
    }
    await expect(work('update_task', { task_id: mine.id, prompt: 'hijacked' })).rejects.toThrow(`No task with id "${mine.id}".`);
    await expect(family('schedule_task', { ...daily, target_group: 'work' })).rejects.toThrow(
      'Only the main chat can schedule tasks for another group.',
    );
    expect(await family('schedule_task', { ...daily, target_group: 'family' })).toMatchObject({ group: 'family' });
  });

  it('let main see and manage every task, and schedule for any group by folder or chat id', async () => {
    const { main, family } = setup();
    const theirs = await family('schedule_task', daily);
    const forWork = await main('schedule_task', { ...daily, target_group: 'local:work', context_mode: 'isolated' });
    expect(forWork).toMatchObject({ group: 'work', contextMode: 'isolated' });
    expect((await main('list_tasks', {})).map((t: any) => t.group)).toEqual(['family', 'work']);
    expect(await main('pause_task', { task_id: theirs.id })).toMatchObject({ status: 'paused', nextRun: null });
    await expect(main('schedule_task', { ...daily, target_group: 'nope' })).rejects.toThrow(
      'No registered group "nope": use a folder or chat id from list_groups.',
    );
  });

  it('update prompt, context and schedule; a new schedule revives a finished one-off', async () => {
    const { store, family } = setup();
    const once = await family('schedule_task', { prompt: 'call mum', schedule_type: 'once', schedule_value: '2026-11-24 17:00' });
    store.tasks.update(once.id, { status: 'completed', nextRun: null }, NOW);
    const again = await family('update_task', { task_id: once.id, schedule_value: '2026-11-25T09:30:00+01:00', context_mode: 'isolated' });
    expect(again).toMatchObject({ status: 'active', schedule: 'once at 2026-11-25T09:30:00+01:00', nextRun: '2026-11-25 09:30 +01:00', contextMode: 'isolated' });
    const every = await family('update_task', { task_id: once.id, schedule_type: 'interval', schedule_value: '2h', prompt: 'stretch' });
    expect(every).toMatchObject({ schedule: 'every 2h', nextRun: '2026-11-24 15:00 +01:00', prompt: 'stretch' });
    await expect(family('update_task', { task_id: once.id })).rejects.toThrow('Nothing to update');
    await expect(family('update_task', { task_id: once.id, schedule_type: 'cron' })).rejects.toThrow('Changing schedule_type needs a schedule_value');
    await family('cancel_task', { task_id: once.id });
    await expect(family('update_task', { task_id: once.id, prompt: 'x' })).rejects.toThrow(`Task ${once.id} is cancelled`);
    await expect(family('cancel_task', { task_id: once.id })).rejects.toThrow('is already cancelled');
    expect(await family('list_tasks', {})).toEqual([]);
    expect(await family('list_tasks', { include_cancelled: true })).toHaveLength(1);
  });

  it('refuse bad input precisely', async () => {
    const { family } = setup();
    await expect(family('schedule_task', { ...daily, schedule_value: '0 25 * * *' })).rejects.toThrow(/Invalid cron expression "0 25 \* \* \*": Invalid value for hour: 25/);
    await expect(family('schedule_task', { ...daily, schedule_type: 'interval', schedule_value: '10s' })).rejects.toThrow(
      'Interval "10s" is too short: a task may repeat at most every 1m. Use an interval of 1m or more.',
    );
    await expect(family('schedule_task', { ...daily, schedule_type: 'once', schedule_value: '2026-11-24 12:30' })).rejects.toThrow(
      'The time "2026-11-24 12:30" is in the past (it is now 2026-11-24T13:00:00+01:00 in Europe/Berlin).',
    );
    await expect(family('pause_task', { task_id: 'tdeadbeef' })).rejects.toThrow('No task with id "tdeadbeef".');
    await expect(family('schedule_task', { ...daily, schedule_type: 'hourly' })).rejects.toThrow(
      /bad arguments for schedule_task: ✖ Invalid option: expected one of "cron"\|"interval"\|"once"\n {2}→ at schedule_type/,
    );
    await expect(family('schedule_task', { ...daily, group_id: 1 })).rejects.toThrow('bad arguments for schedule_task: ✖ Unrecognized key: "group_id"');
    await expect(family('pause_task', undefined)).rejects.toThrow(/bad arguments for pause_task: .*\n {2}→ at task_id/);
  });

  it('cap the active tasks of a group', async () => {
    const { family, main } = setup();
    for (let i = 0; i < MAX_ACTIVE_TASKS_PER_GROUP; i++) await family('schedule_task', daily);
    await expect(family('schedule_task', daily)).rejects.toThrow(
      `The group "family" already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks, the most a group may have, so scheduling another is refused. ` +
        'Cancel or pause one of them first (list_tasks shows them).',
    );
    await expect(main('schedule_task', { ...daily, target_group: 'family' })).rejects.toThrow('already has');
    expect(await main('schedule_task', daily)).toMatchObject({ group: 'main' });
  });

  it('hold the cap when a paused task is resumed, and let it resume once there is room', async () => {
    const { store, family, groups } = setup();
    const paused = await family('schedule_task', daily);
    await family('pause_task', { task_id: paused.id });
    fill(store, groups.family, MAX_ACTIVE_TASKS_PER_GROUP);
    await expect(family('resume_task', { task_id: paused.id })).rejects.toThrow(
      `The group "family" already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks, the most a group may have, so resuming task ${paused.id} is refused.`,
    );
    expect(store.tasks.get(paused.id)).toMatchObject({ status: 'paused', nextRun: null });
    await family('cancel_task', { task_id: 'fill-family-0' });
    expect(await family('resume_task', { task_id: paused.id })).toMatchObject({ status: 'active' });
    expect(store.tasks.countActive(groups.family.id)).toBe(MAX_ACTIVE_TASKS_PER_GROUP);
  });

  it('hold the cap when main resumes a task of a full group', async () => {
    const { store, main, family, groups } = setup();
    const paused = await family('schedule_task', daily);
    await family('pause_task', { task_id: paused.id });
    fill(store, groups.family, MAX_ACTIVE_TASKS_PER_GROUP);
    await expect(main('resume_task', { task_id: paused.id })).rejects.toThrow(`The group "family" already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks`);
  });

  it('hold the cap when update_task revives a finished one-off, but not for changes that add no active task', async () => {
    const { store, family, groups } = setup();
    const once = await family('schedule_task', { prompt: 'call mum', schedule_type: 'once', schedule_value: '2026-11-24 17:00' });
    store.tasks.update(once.id, { status: 'completed', nextRun: null }, NOW);
    const paused = await family('schedule_task', daily);
    await family('pause_task', { task_id: paused.id });
    fill(store, groups.family, MAX_ACTIVE_TASKS_PER_GROUP);
    await expect(family('update_task', { task_id: once.id, schedule_type: 'interval', schedule_value: '1h' })).rejects.toThrow(
      `already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks, the most a group may have, so reviving task ${once.id} is refused.`,
    );
    expect(store.tasks.get(once.id)).toMatchObject({ status: 'completed', scheduleType: 'once' });
    // A prompt change keeps it finished; a paused task's new schedule keeps it paused; an active one stays one.
    expect(await family('update_task', { task_id: once.id, prompt: 'call dad' })).toMatchObject({ status: 'completed', prompt: 'call dad' });
    expect(await family('update_task', { task_id: paused.id, schedule_value: '0 8 * * *' })).toMatchObject({ status: 'paused' });
    expect(await family('update_task', { task_id: 'fill-family-0', schedule_value: '2h' })).toMatchObject({ status: 'active', schedule: 'every 2h' });
    expect(store.tasks.countActive(groups.family.id)).toBe(MAX_ACTIVE_TASKS_PER_GROUP);
  });

  it('hold the minimum interval for cron and interval, on schedule and on update', async () => {
    const { store, family } = setup(3_600_000);
    await expect(family('schedule_task', { ...daily, schedule_value: '0,1 9 * * *' })).rejects.toThrow(
      'The cron expression "0,1 9 * * *" runs too often: two runs only 1m apart (2026-11-25 09:00 +01:00 and 2026-11-25 09:01 +01:00), ' +
        'but runs must be at least 1h apart. Choose run times at least 1h apart, or use an interval.',
    );
    await expect(family('schedule_task', { ...daily, schedule_type: 'interval', schedule_value: '30m' })).rejects.toThrow(
      'Interval "30m" is too short: a task may repeat at most every 1h. Use an interval of 1h or more.',
    );
    const task = await family('schedule_task', daily);
    await expect(family('update_task', { task_id: task.id, schedule_value: '*/5 * * * *' })).rejects.toThrow('runs too often: two runs only 5m apart');
    await expect(family('update_task', { task_id: task.id, schedule_type: 'interval', schedule_value: '59m' })).rejects.toThrow('Interval "59m" is too short');
    await family('pause_task', { task_id: task.id });
    await expect(family('update_task', { task_id: task.id, schedule_value: '0 9,10 * * *' })).resolves.toMatchObject({ schedule: 'cron 0 9,10 * * *' });
    await expect(family('update_task', { task_id: task.id, schedule_value: '30 9,10 * * *', prompt: 'x' })).resolves.toMatchObject({ prompt: 'x' });
    await expect(family('update_task', { task_id: task.id, schedule_value: '0,30 9 * * *', prompt: 'lost' })).rejects.toThrow('two runs only 30m apart');
    expect(store.tasks.get(task.id)).toMatchObject({ scheduleType: 'cron', scheduleValue: '30 9,10 * * *', prompt: 'x' }); // nothing half-applied
    expect((await family('list_tasks', {})).map((t: any) => t.schedule)).toEqual(['cron 30 9,10 * * *']);
  });
});
