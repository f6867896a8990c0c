// Task tools on the host: what each group may see and do, and the errors bad input gets.
import { describe, expect, it } from 'vitest';
import { OpError, runOp } from '../src/ops/registry.js';
import { MAX_ACTIVE_TASKS_PER_GROUP } from '../src/ops/task-ops.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';
import { hostWith } from './support/ops-host.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');

function setup() {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const family = store.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const work = store.registerGroup({ channel: 'local', chatId: 'local:work', name: 'Work', folder: 'work', trigger: '@Andy', requiresTrigger: true, isMain: false });
  let changes = 0;
  const env = { timeZone: 'Europe/Berlin', minIntervalMs: 60_000, now: () => NOW, changed: () => changes++ };
  const as = (group: Group) => (op: string, args: unknown) => runOp({ group, runId: 'r', seq: 1, store, host: hostWith(store, env) }, op, args) as Promise<any>;
  return { store, main: as(main), family: as(family), work: as(work), changes: () => changes };
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
    await expect(family('schedule_task', daily)).rejects.toThrow(`The group "family" already has ${MAX_ACTIVE_TASKS_PER_GROUP} active tasks`);
    await expect(main('schedule_task', { ...daily, target_group: 'family' })).rejects.toThrow('already has');
    expect(await main('schedule_task', daily)).toMatchObject({ group: 'main' });
  });
});
