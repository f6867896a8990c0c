// Attacks on the task limits: a hostile agent in a real sandbox tries, through its task tools and through request
// files it forges itself, to get more than 100 active tasks in its group or a task that runs more often than the
// floor (1 hour here). Groups are filled to near the cap through the store first, as if scheduled earlier. Each
// attempt must fail with the error the agent sees, the store unchanged, and a refusal in the host's log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ACTIVE_TASKS_PER_GROUP } from '../../src/ops/task-ops.js';
import type { Group } from '../../src/store/store.js';
import type { TaskStatus } from '../../src/store/tasks.js';
import type { ScheduleType } from '../../src/tasks/schedule.js';
import { ATTACK_RUNTIMES, bash } from '../support/attack-runtimes.js';
import { toolUse } from '../support/fake-anthropic.js';
import { startHarness, type Harness } from '../support/harness.js';
import { addGroup, logLines, runStep, stepScript } from '../support/scenario.js';
import { until } from '../support/wait.js';

const CAP = MAX_ACTIVE_TASKS_PER_GROUP;
const HOUR = 3_600_000;
const tool = (name: string, input: Record<string, unknown>) => toolUse(`mcp__carapace__${name}`, input);
const full = (folder: string, doing: string) =>
  `[error] The group "${folder}" already has ${CAP} active tasks, the most a group may have, so ${doing} is refused. ` +
  'Cancel or pause one of them first (list_tasks shows them).';
/** What each tool call of a step returned, as the host answered it (the SDK may append a hint after a blank line). */
const results = (seen: string) =>
  seen
    .replace(/^RESULT [^\n]*:\n/, '')
    .split('\n---\n')
    .map((r) => r.split('\n\n')[0]);
/** Write a request into the run's outbox by hand, as a runner that ignores its tool schemas would. */
const forged = (seq: number, op: string, args: object) =>
  `printf '%s' '${JSON.stringify({ type: 'request', seq, id: `forged-${seq}`, op, args })}' > /ipc/out/.f && mv /ipc/out/.f /ipc/out/${String(seq).padStart(8, '0')}.json`;

describe.each(ATTACK_RUNTIMES)('attacks on the task limits ($name)', ({ create }) => {
  let h: Harness;
  const groups: Record<string, Group> = {};

  /** Tasks created straight in the store, as if the group had scheduled them earlier. */
  function seed(group: Group, prefix: string, n: number, status: TaskStatus = 'active', schedule: { type: ScheduleType; value: string } = { type: 'interval', value: '1d' }) {
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${i}`;
      h.app.store.tasks.create(
        { id, groupId: group.id, createdBy: group.id, prompt: 'p', scheduleType: schedule.type, scheduleValue: schedule.value, contextMode: 'isolated', anchorAt: now, nextRun: now + 24 * HOUR },
        now,
      );
      if (status !== 'active') h.app.store.tasks.update(id, { status, nextRun: null }, now);
    }
  }
  const active = (folder: string) => h.app.store.tasks.countActive(groups[folder].id);
  const refusals = (folder: string, op: string) => logLines(h).filter((l) => l.msg === 'agent request refused' && l.group === folder && l.op === op);

  beforeAll(async () => {
    h = await startHarness({ runtime: create, env: { CARAPACE_TASK_MIN_INTERVAL_MS: String(HOUR), CARAPACE_TZ: 'Europe/Berlin' } });
    for (const folder of ['resumer', 'reviver', 'family', 'forger']) groups[folder] = addGroup(h, folder);
    seed(groups.resumer, 'resumer-', CAP - 2);
    seed(groups.resumer, 'p', 3, 'paused');
    seed(groups.reviver, 'reviver-', CAP);
    seed(groups.reviver, 'done', 1, 'completed', { type: 'once', value: '2026-01-01T09:00:00+01:00' });
    seed(groups.family, 'daily', 1, 'active', { type: 'cron', value: '0 9 * * *' });
    seed(groups.family, 'every2h', 1, 'active', { type: 'interval', value: '2h' });
    seed(groups.forger, 'forger-', CAP);
    seed(groups.forger, 'paused', 1, 'paused');

    h.fake.setScript(
      stepScript({
        'resume all': ['p0', 'p1', 'p2'].map((task_id) => tool('resume_task', { task_id })),
        'revive by update': [
          tool('update_task', { task_id: 'done0', schedule_type: 'interval', schedule_value: '2h' }),
          tool('update_task', { task_id: 'done0', schedule_type: 'once', schedule_value: '2099-01-01 09:00' }),
        ],
        'main revives': [tool('update_task', { task_id: 'done0', schedule_type: 'cron', schedule_value: '0 9 * * *' })],
        'tight cron': [
          tool('schedule_task', { prompt: 'spam', schedule_type: 'cron', schedule_value: '0,1 9 * * *' }),
          tool('schedule_task', { prompt: 'spam', schedule_type: 'cron', schedule_value: '*/30 * * * *' }),
          // Berlin skips 02:00-03:00 in spring: 01:30 and the moved 02:30 are 30 minutes apart.
          tool('schedule_task', { prompt: 'spam', schedule_type: 'cron', schedule_value: '30 1,2 * * *' }),
        ],
        'tight cron by update': [
          tool('update_task', { task_id: 'daily0', schedule_value: '0,30 9 * * *' }),
          tool('update_task', { task_id: 'every2h0', schedule_type: 'cron', schedule_value: '*/10 * * * *' }),
        ],
        'short interval': [
          tool('schedule_task', { prompt: 'spam', schedule_type: 'interval', schedule_value: '59m' }),
          tool('schedule_task', { prompt: 'spam', schedule_type: 'interval', schedule_value: '1000' }),
          tool('update_task', { task_id: 'every2h0', schedule_value: '30m' }),
          tool('update_task', { task_id: 'daily0', schedule_type: 'interval', schedule_value: '1m' }),
        ],
        'forge past the limits': bash(
          [
            forged(900, 'resume_task', { task_id: 'paused0' }),
            forged(901, 'schedule_task', { prompt: 'spam', schedule_type: 'interval', schedule_value: '2h' }),
            forged(902, 'update_task', { task_id: 'forger-0', schedule_type: 'cron', schedule_value: '* * * * *' }),
            'echo forged',
          ].join('; '),
        ),
        'list groups': [tool('list_groups', {})],
      }),
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  it('cannot exceed the task cap by resuming paused tasks', async () => {
    expect(active('resumer')).toBe(CAP - 2);
    const seen = results(await runStep(h, 'local:resumer', 'resume all'));
    const refused = seen.filter((r) => r.startsWith('[error]'));
    expect(refused).toHaveLength(1); // two fit under the cap, the third does not
    expect(refused[0]).toMatch(/^\[error\] The group "resumer" already has 100 active tasks, the most a group may have, so resuming task p[0-2] is refused\./);
    expect(active('resumer')).toBe(CAP);
    expect(['p0', 'p1', 'p2'].map((id) => h.app.store.tasks.get(id)!.status).sort()).toEqual(['active', 'active', 'paused']);
    expect(refusals('resumer', 'resume_task')).toHaveLength(1);
  });

  it('cannot exceed the cap through update: a finished one-off is not revived, not even by main', async () => {
    const seen = results(await runStep(h, 'local:reviver', 'revive by update'));
    expect(seen).toEqual([full('reviver', 'reviving task done0'), full('reviver', 'reviving task done0')]);
    const fromMain = results(await runStep(h, 'local:owner', 'main revives'));
    expect(fromMain).toEqual([full('reviver', 'reviving task done0')]);
    expect(h.app.store.tasks.get('done0')).toMatchObject({ status: 'completed', scheduleType: 'once', nextRun: null });
    expect(active('reviver')).toBe(CAP);
    expect(refusals('reviver', 'update_task')).toHaveLength(2);
  });

  it('cannot schedule a cron more often than the floor, even where only a DST change squeezes two runs', async () => {
    const [minute, halfHour, dst] = results(await runStep(h, 'local:family', 'tight cron'));
    expect(minute).toMatch(/^\[error\] The cron expression "0,1 9 \* \* \*" runs too often: two runs only 1m apart \(\d{4}-\d\d-\d\d 09:00 \+0[12]:00 and \d{4}-\d\d-\d\d 09:01 \+0[12]:00\), but runs must be at least 1h apart\. Choose run times at least 1h apart, or use an interval\.$/);
    expect(halfHour).toMatch(/^\[error\] The cron expression "\*\/30 \* \* \* \*" runs too often: two runs only 30m apart/);
    expect(dst).toMatch(/^\[error\] The cron expression "30 1,2 \* \* \*" runs too often: two runs only 30m apart \(\d{4}-03-\d\d 01:30 \+01:00 and \d{4}-03-\d\d 03:00 \+02:00\)/);
    expect(h.app.store.tasks.list({ groupId: groups.family.id }).map((t) => t.id)).toEqual(['daily0', 'every2h0']);
    expect(refusals('family', 'schedule_task')).toHaveLength(3);
  });

  it('cannot sneak a tight cron in through update_task', async () => {
    const [sameType, newType] = results(await runStep(h, 'local:family', 'tight cron by update'));
    expect(sameType).toMatch(/^\[error\] The cron expression "0,30 9 \* \* \*" runs too often: two runs only 30m apart/);
    expect(newType).toMatch(/^\[error\] The cron expression "\*\/10 \* \* \* \*" runs too often: two runs only 10m apart/);
    expect(h.app.store.tasks.get('daily0')).toMatchObject({ scheduleType: 'cron', scheduleValue: '0 9 * * *' });
    expect(h.app.store.tasks.get('every2h0')).toMatchObject({ scheduleType: 'interval', scheduleValue: '2h' });
  });

  it('cannot schedule an interval below the floor, nor update one to it', async () => {
    expect(results(await runStep(h, 'local:family', 'short interval'))).toEqual([
      '[error] Interval "59m" is too short: a task may repeat at most every 1h. Use an interval of 1h or more.',
      '[error] Interval "1000" is too short: a task may repeat at most every 1h. Use an interval of 1h or more.',
      '[error] Interval "30m" is too short: a task may repeat at most every 1h. Use an interval of 1h or more.',
      '[error] Interval "1m" is too short: a task may repeat at most every 1h. Use an interval of 1h or more.',
    ]);
    expect(h.app.store.tasks.list({ groupId: groups.family.id }).map((t) => [t.id, t.scheduleType, t.scheduleValue])).toEqual([
      ['daily0', 'cron', '0 9 * * *'],
      ['every2h0', 'interval', '2h'],
    ]);
  });

  it('cannot get past the limits by writing the request files itself', async () => {
    const before = refusals('forger', 'resume_task').length + refusals('forger', 'schedule_task').length + refusals('forger', 'update_task').length;
    expect(await runStep(h, 'local:forger', 'forge past the limits')).toContain('forged');
    const refused = await until(() => {
      const all = [...refusals('forger', 'resume_task'), ...refusals('forger', 'schedule_task'), ...refusals('forger', 'update_task')];
      return all.length >= before + 3 ? all : undefined;
    });
    expect(refused.map((l) => l.err?.message).sort()).toEqual([
      expect.stringContaining('The cron expression "* * * * *" runs too often: two runs only 1m apart'),
      full('forger', 'resuming task paused0').replace('[error] ', ''),
      full('forger', 'scheduling another').replace('[error] ', ''),
    ].sort());
    expect(h.app.store.tasks.get('paused0')!.status).toBe('paused');
    expect(h.app.store.tasks.get('forger-0')).toMatchObject({ scheduleType: 'interval', scheduleValue: '1d' });
    expect(active('forger')).toBe(CAP);
  });

  it('still answers another chat after all of it', async () => {
    const [seen] = results(await runStep(h, 'local:owner', 'list groups'));
    const listed = JSON.parse(seen) as { folder: string }[];
    expect(listed.map((g) => g.folder).sort()).toEqual(['family', 'forger', 'main', 'resumer', 'reviver']);
    expect(h.app.store.tasks.list().length).toBe(3 * (CAP + 1) + 2); // every task seeded, not one more
  });
});
