// Scheduled tasks end to end: real store and scheduler, real bubblewrap sandboxes running the real SDK, which
// calls the task tools against the fake Anthropic API.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultScript, text, toolUse, toScriptRequest, type ScriptRequest } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FAST = { CARAPACE_TASK_MIN_INTERVAL_MS: '1000' };
/** The due time a scheduled run's prompt carries, e.g. "2026-11-24T15:04:05+00:00". */
const dueOf = (req: ScriptRequest) => /<scheduled_task [^>]*due="([^"]+)"/.exec(req.lastUserText)?.[1];
/** Model requests of scheduled runs' first turns, with the due time each carried. */
const taskRequests = (x: Harness) =>
  x.fake.requests
    .filter((r) => r.kind === 'main')
    .map((r) => ({ ...r, req: toScriptRequest(r.body, r.headers) }))
    .filter((r) => r.req.turn === 0 && dueOf(r.req))
    .map((r) => ({ ...r, due: dueOf(r.req)! }));
const taskRuns = (x: Harness) => x.app.store.db.prepare('SELECT * FROM task_runs ORDER BY id').all() as any[];
const runs = (x: Harness) => x.app.store.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as any[];

async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scheduled tasks end to end', () => {
  it('an agent schedules a one-off from chat; it fires on time in a fresh session and its message reaches the chat', async () => {
    let dueAt = 0;
    h = await startHarness({
      env: FAST,
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        if (dueOf(req)) return { content: [text(`Reminder: ${/<prompt>(.*)<\/prompt>/.exec(req.lastUserText)?.[1]}`)] };
        if (req.toolResults.length > 0) return { content: [text(`SCHEDULED: ${req.toolResults[0].content}`)] };
        dueAt = Date.now() + 3000;
        const input = { prompt: 'water the plants', schedule_type: 'once', schedule_value: new Date(dueAt).toISOString(), context_mode: 'isolated' };
        return { content: [toolUse('mcp__carapace__schedule_task', input)] };
      },
    });
    await h.say('remind me in 3 seconds to water the plants');
    const [scheduled] = await h.waitForReplies(1);
    const task = JSON.parse(scheduled.text.slice('SCHEDULED: '.length));
    expect(task).toMatchObject({ group: 'main', contextMode: 'isolated', status: 'active', schedule: expect.stringMatching(/^once at /) });
    const chatSession = h.app.store.sessionOf(1);

    const replies = await h.waitForReplies(2);
    expect(replies[1].text).toBe('Reminder: water the plants');
    const [taskRequest, ...more] = taskRequests(h);
    expect(more).toEqual([]);
    expect(taskRequest.receivedAtEpochMs).toBeGreaterThanOrEqual(dueAt); // never early
    expect(taskRequest.headers['x-claude-code-session-id']).not.toBe(chatSession);
    expect(h.app.store.sessionOf(1)).toBe(chatSession); // the isolated run left the chat's session alone
    expect(taskRuns(h)).toEqual([
      expect.objectContaining({ task_id: task.id, trigger: 'schedule', status: 'succeeded', result: 'Reminder: water the plants', error: null }),
    ]);
    expect(h.app.store.tasks.get(task.id)).toMatchObject({ status: 'completed', nextRun: null });
    // The idle chat run gave up the group's slot; the isolated run started after it ended and closed after its turn.
    await waitFor(() => h!.app.store.runningRuns().length === 0);
    const [chatRun, taskRun] = runs(h);
    expect([chatRun.isolated, chatRun.status, taskRun.isolated, taskRun.status]).toEqual([0, 'succeeded', 1, 'succeeded']);
    expect(taskRun.started_at).toBeGreaterThanOrEqual(chatRun.ended_at);
  });
});
