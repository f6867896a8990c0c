// Pending work at O(new work): a large untriggered backlog is read once, not on every look; prompts read only
// its tail; and the queries behind it run on indexes (checked with EXPLAIN QUERY PLAN).
import { describe, expect, it, vi } from 'vitest';
import { giveUp } from '../src/core/notes.js';
import { hasWork, planRun, toInputs } from '../src/core/run-plan.js';
import type { Core } from '../src/core/core.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';

const CHAT = 'wa:team@g.us';
const config = { timeZone: 'UTC', promptBudget: { maxMessages: 50, maxChars: 1_000_000 } };

function setup(backlog: number) {
  const store = new Store(openDatabase(':memory:'));
  store.upsertChat({ chatId: CHAT, name: 'Team', isGroup: true });
  const group = store.registerGroup({ channel: 'wa', chatId: CHAT, name: 'Team', folder: 'team', trigger: '@Andy', requiresTrigger: true, isMain: false, containerConfig: { allowSessionCommands: true } });
  let n = 0;
  const say = (text: string) => store.insertMessage({ chatId: CHAT, platformId: `p${n++}`, senderId: 'u1', senderName: 'Ann', text, timestamp: 1_700_000_000_000 + n })!;
  store.db.transaction(() => {
    for (let i = 0; i < backlog; i++) say(`chatter ${i}`);
  })();
  // Count the message rows each look reads out of the store.
  const read = { rows: 0 };
  for (const name of ['messagesAfter', 'newestMessagesBetween'] as const) {
    const real = store[name] as (...a: any[]) => unknown[];
    vi.spyOn(store, name).mockImplementation(((...args: any[]) => {
      const rows = real(...args);
      read.rows += rows.length;
      return rows;
    }) as any);
  }
  const fresh = (): Group => store.groupById(group.id)!;
  return { store, say, read, fresh, deps: { store, config } };
}

describe('pending work reads only what is new', () => {
  it('a look after one more untriggered message reads one row, not the backlog', () => {
    const { say, read, fresh, deps } = setup(5_000);
    expect(hasWork(deps, fresh())).toBe(false);
    expect(read.rows).toBe(5_000); // the first look learns the backlog is quiet
    for (let i = 0; i < 3; i++) {
      read.rows = 0;
      say(`more chatter ${i}`);
      expect(hasWork(deps, fresh())).toBe(false);
      expect(read.rows).toBe(1);
    }
  });

  it('a trigger after the backlog plans a prompt from the backlog tail, counting the rest as omitted', () => {
    const { say, read, fresh, deps } = setup(5_000);
    hasWork(deps, fresh());
    read.rows = 0;
    const trigger = say('@Andy what did we decide?');
    expect(hasWork(deps, fresh())).toBe(true);
    const plan = planRun(deps, fresh())!;
    expect(read.rows).toBeLessThanOrEqual(2 + 1 + 50); // the new row twice, plus the prompt's tail
    expect(plan.mode).toBe('chat');
    expect(plan.inputs).toHaveLength(1);
    expect(plan.inputs[0].lastId).toBe(trigger);
    // The budget keeps 50 messages: the trigger and the 49 newest of the backlog; 4,951 are left out.
    expect(plan.inputs[0].text).toContain('<omitted count="4951">');
    expect(plan.inputs[0].text).toContain('chatter 4999</message>');
    expect(plan.inputs[0].text).not.toContain('chatter 4950<');
    expect(plan.inputs[0].text).toContain('@Andy what did we decide?');
  });

  it('the same prompt as reading everything, when the backlog fits the budget', () => {
    const { store, say, fresh, deps } = setup(10);
    hasWork(deps, fresh());
    say('@Andy /compact');
    say('@Andy and now?');
    const plan = planRun(deps, fresh())!;
    expect(plan.inputs.map((i) => i.text.split('\n').length)).toEqual([12, 1, 3]); // 10 quiet in a batch, /compact raw, then the question
    expect(plan.inputs[1].text).toBe('/compact');
    expect(plan.inputs).toEqual(toInputs(deps, fresh(), store.messagesAfter(CHAT, fresh().cursor)));
  });

  it('a changed trigger voids what was learned: the backlog is read again', () => {
    const { store, say, fresh, deps } = setup(100);
    say('@Bob hello');
    expect(hasWork(deps, fresh())).toBe(false);
    store.updateGroup(fresh().id, { ...fresh(), trigger: '@Bob' });
    expect(hasWork(deps, fresh())).toBe(true);
  });

  it('after the answer, the cursor moves past and the old backlog is never read again', () => {
    const { store, say, read, fresh, deps } = setup(2_000);
    const trigger = say('@Andy hi');
    expect(planRun(deps, fresh())).toBeDefined();
    store.advanceCursor(fresh().id, trigger);
    read.rows = 0;
    say('chatter after');
    expect(hasWork(deps, fresh())).toBe(false);
    expect(read.rows).toBe(1);
  });

  it('giving up reads one row to find where the note covers up to', () => {
    const { store, say, read, fresh } = setup(3_000);
    const last = say('@Andy please');
    const core = { store, log: { error: () => undefined }, lastErrors: new Map(), delivery: { kick: () => undefined } } as unknown as Core;
    read.rows = 0;
    giveUp(core, fresh().id, 3);
    expect(read.rows).toBe(0);
    const note = store.db.prepare('SELECT text FROM outbox WHERE chat_id = ?').get(CHAT) as { text: string };
    expect(note.text).toContain('failed 3 times');
    expect(fresh().cursor).toBe(last); // the note answers everything pending
  });
});

describe('the queries behind pending work use indexes', () => {
  const plan = (store: Store, sql: string, ...args: unknown[]) =>
    (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join('; ');

  it.each([
    ['messages after a cursor', `SELECT id FROM messages WHERE chat_id = ? AND id > ? AND from_assistant = 0 ORDER BY id`, [CHAT, 0]],
    ['a backlog tail', `SELECT id FROM messages WHERE chat_id = ? AND id > ? AND id <= ? AND from_assistant = 0 ORDER BY id DESC LIMIT ?`, [CHAT, 0, 9, 5]],
    ['a backlog count', `SELECT COUNT(*) FROM messages WHERE chat_id = ? AND id > ? AND id <= ? AND from_assistant = 0`, [CHAT, 0, 9]],
    ['the last pending message', `SELECT id FROM messages WHERE chat_id = ? AND id > ? AND from_assistant = 0 ORDER BY id DESC LIMIT 1`, [CHAT, 0]],
  ])('%s: a range search on messages_people, no table scan, no sort', (_name, sql, args) => {
    const { store } = setup(0);
    const detail = plan(store, sql as string, ...(args as unknown[]));
    expect(detail).toMatch(/SEARCH messages USING (COVERING )?INDEX messages_people \(chat_id=\? AND id[<>]/);
    expect(detail).not.toMatch(/SCAN|TEMP B-TREE/);
  });

  it('claimed task occurrences of a group: found through the open-runs index', () => {
    const { store } = setup(0);
    const detail = plan(store, `SELECT 1 FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE t.group_id = ? AND r.status = 'claimed' LIMIT 1`, 1);
    expect(detail).toMatch(/task_runs_open|tasks_group/);
    expect(detail).not.toMatch(/SCAN (r|t)\b(?! USING)/);
  });
});
