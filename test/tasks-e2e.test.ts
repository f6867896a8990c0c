// Scheduled tasks end to end: real store and scheduler, real bubblewrap sandboxes running the real SDK, which
// calls the task tools against the fake Anthropic API.
import { afterEach, describe, expect, it } from 'vitest';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startChildCarapace } from './support/child-carapace.js';
import {
  defaultScript,
  startFakeAnthropic,
  text,
  toolUse,
  toScriptRequest,
  type FakeAnthropic,
  type ScriptRequest,
} from './support/fake-anthropic.js';
import { sandboxReadableTempDir, startHarness, type Harness } from './support/harness.js';
import { runCli } from './support/run-cli.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The real `carapace` command against a data directory (async: the assistant it talks to runs in this process). */
const cli = (args: string[], env: Record<string, string>) => runCli(args, { cwd: env.CARAPACE_DATA_DIR, env: { PATH: process.env.PATH, ...env } });

const FAST = { CARAPACE_TASK_MIN_INTERVAL_MS: '1000' };
/** The due time a scheduled run's prompt carries, e.g. "2026-11-24T15:04:05+00:00". */
const dueOf = (req: ScriptRequest) => /<scheduled_task [^>]*due="([^"]+)"/.exec(req.lastUserText)?.[1];
/** Model requests of scheduled runs' first turns, with the due time each carried. */
const taskRequests = (fake: FakeAnthropic) =>
  fake.requests
    .filter((r) => r.kind === 'main')
    .map((r) => ({ ...r, req: toScriptRequest(r.body, r.headers) }))
    .filter((r) => r.req.turn === 0 && dueOf(r.req))
    .map((r) => ({ ...r, due: dueOf(r.req)! }));
const taskRuns = (x: Harness) => x.app.store.db.prepare('SELECT * FROM task_runs ORDER BY id').all() as any[];
const runs = (x: Harness) => x.app.store.db.prepare('SELECT * FROM runs ORDER BY started_at').all() as any[];

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
    const [taskRequest, ...more] = taskRequests(h.fake);
    expect(more).toEqual([]);
    expect(taskRequest.receivedAtEpochMs).toBeGreaterThanOrEqual(dueAt); // never early
    expect(taskRequest.headers['x-claude-code-session-id']).not.toBe(chatSession);
    expect(h.app.store.sessionOf(1)).toBe(chatSession); // the isolated run left the chat's session alone
    expect(taskRuns(h)).toEqual([
      expect.objectContaining({ task_id: task.id, trigger: 'schedule', status: 'succeeded', result: 'Reminder: water the plants', error: null }),
    ]);
    expect(h.app.store.tasks.get(task.id)).toMatchObject({ status: 'completed', nextRun: null });
    // The idle chat run gave up the group's slot; the isolated run started after it ended and closed after its turn.
    await until(() => h!.app.store.runningRuns().length === 0);
    const [chatRun, taskRun] = runs(h);
    expect([chatRun.isolated, chatRun.status, taskRun.isolated, taskRun.status]).toEqual([0, 'succeeded', 1, 'succeeded']);
    expect(taskRun.started_at).toBeGreaterThanOrEqual(chatRun.ended_at);
  });

  it('a run longer than its interval is never run twice nor overlapped: later beats wait, coalesced, on the grid', async () => {
    h = await startHarness({
      env: FAST,
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        const due = dueOf(req);
        return due ? { content: [text(`<internal>beat ${due}</internal>`)], delayMs: 2500 } : defaultScript(req);
      },
    });
    const { store } = h.app;
    const anchor = Date.now();
    const task = store.tasks.create(
      { id: 'tslow', groupId: 1, createdBy: 1, prompt: 'slow work', scheduleType: 'interval', scheduleValue: '1s', contextMode: 'isolated', anchorAt: anchor, nextRun: anchor + 1000 },
      anchor,
    );
    h.app.orchestrator.scheduler.reschedule();
    await until(() => taskRuns(h!).filter((r) => r.status === 'succeeded').length >= 3, 45_000);
    store.tasks.update(task.id, { status: 'cancelled', nextRun: null }, Date.now());
    const stoppedAt = Date.now();
    await until(() => store.runningRuns().length === 0 && !store.tasks.hasClaimed(1));

    const occurrences = taskRuns(h).filter((r) => r.status !== 'skipped');
    // Each beat ran in its own sandbox, one after another, never two at once …
    for (let i = 1; i < occurrences.length; i++) expect(occurrences[i].started_at).toBeGreaterThanOrEqual(occurrences[i - 1].ended_at);
    const taskSandboxes = runs(h);
    for (let i = 1; i < taskSandboxes.length; i++) expect(taskSandboxes[i].started_at).toBeGreaterThanOrEqual(taskSandboxes[i - 1].ended_at);
    // … each claimed beat reached the model exactly once (silent <internal> replies sent nothing) …
    expect(occurrences.every((o) => o.status === 'succeeded' && o.result === '')).toBe(true);
    const seen = taskRequests(h.fake).map((r) => r.due);
    expect(seen).toHaveLength(occurrences.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect(h.replies).toEqual([]);
    // … beats stayed on the 1 s grid from the anchor, and beats due while one waited were folded into it.
    for (const o of occurrences) expect((o.due_at - anchor) % 1000).toBe(0);
    expect(occurrences.length).toBeLessThan(Math.floor((stoppedAt - anchor) / 1000));
  });

  it('a group-context task joins the live chat run, in its session; a silent one stays out of the chat', async () => {
    h = await startHarness({
      env: FAST,
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        if (dueOf(req)) {
          const prompt = /<prompt>(.*)<\/prompt>/.exec(req.lastUserText)?.[1] ?? '';
          if (prompt.includes('quiet')) return { content: [text('<internal>nothing new</internal>')] };
          const secret = req.earlierUserText.map((t) => /SECRET=[\w-]+/.exec(t)?.[0]).find(Boolean);
          return { content: [toolUse('mcp__carapace__send_message', { text: `progress for ${secret}` })] };
        }
        if (req.toolResults.length > 0) return { content: [text('task done')] };
        return defaultScript(req);
      },
    });
    await h.say('SECRET=kingfisher-7');
    await h.waitForReplies(1);
    const { store } = h.app;
    const now = Date.now();
    // Two one-offs, far enough apart to be separate turns (occurrences due together share one turn).
    for (const [id, prompt, dueIn] of [['tloud', 'report progress', 1000], ['tquiet', 'stay quiet unless needed', 4000]] as const) {
      const dueAt = now + dueIn;
      store.tasks.create(
        { id, groupId: 1, createdBy: 1, prompt, scheduleType: 'once', scheduleValue: new Date(dueAt).toISOString(), contextMode: 'group', anchorAt: dueAt, nextRun: dueAt },
        now,
      );
    }
    h.app.orchestrator.scheduler.reschedule();
    const replies = await h.waitForReplies(3);
    expect(replies.slice(1).map((r) => r.text)).toEqual(['progress for SECRET=kingfisher-7', 'task done']);
    await until(() => taskRuns(h!).length === 2 && taskRuns(h!).every((r) => r.status === 'succeeded'));
    expect(taskRuns(h).map((r) => [r.task_id, r.result])).toEqual([
      ['tloud', 'task done'],
      ['tquiet', ''],
    ]);
    // One sandbox, one session: the tasks were piped into the warm chat run.
    expect(runs(h)).toHaveLength(1);
    expect(new Set(taskRuns(h).map((r) => r.run_id))).toEqual(new Set([runs(h)[0].id]));
    await new Promise((r) => setTimeout(r, 500));
    expect(h.replies).toHaveLength(3);
  });

  it('a hard kill mid-run and a restart: the occurrence is not repeated, the chat is told, and the next one fires', async () => {
    let interrupted: string | undefined;
    const fake = await startFakeAnthropic({
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        const due = dueOf(req);
        if (due && !interrupted) {
          interrupted = due;
          return { hang: true }; // the run is mid-flight when the process dies
        }
        return due ? { content: [text(`beat ${due}`)] } : defaultScript(req);
      },
    });
    const dataDir = sandboxReadableTempDir('carapace-kill-');
    let child = await startChildCarapace(dataDir, fake.url, FAST);
    const db = openDatabase(dataPaths(dataDir).db);
    const store = new Store(db);
    try {
      const anchor = Date.now();
      const groupId = store.groupByChat('local:owner')!.id;
      store.tasks.create(
        { id: 'tkill', groupId, createdBy: groupId, prompt: 'check in', scheduleType: 'interval', scheduleValue: '3s', contextMode: 'isolated', anchorAt: anchor, nextRun: anchor + 3000 },
        anchor,
      );
      // The store changed behind the running process: the CLI's way of telling it.
      const wake = await fetch(`${child.url}api/wake`, { method: 'POST', headers: { authorization: `Bearer ${child.token}` } });
      expect(wake.status).toBe(202);
      await until(() => taskRequests(fake).length === 1);
      // Newest first. On a slow machine the next occurrence (3 s later) may already be claimed behind this one.
      const before = store.tasks.history('tkill', 5).map((o) => o.status);
      expect(before.at(-1)).toBe('running');
      expect(before.slice(0, -1).every((status) => status === 'claimed')).toBe(true);

      await child.kill('SIGKILL'); // no shutdown code runs; its sandbox dies with it
      child = await startChildCarapace(dataDir, fake.url, FAST);
      const beat = await until(() => store.recentMessages('local:owner', 10).find((m) => m.fromAssistant && m.text.startsWith('beat ')));

      const history = store.tasks.history('tkill', 10).reverse();
      expect(history[0]).toMatchObject({ status: 'abandoned', error: 'the assistant stopped during the run' });
      expect(new Date(history[0].dueAt).toISOString().slice(0, 19)).toBe(interrupted!.slice(0, 19));
      const next = history.find((o) => o.status === 'succeeded')!;
      expect(next.dueAt).toBeGreaterThan(history[0].dueAt);
      expect(beat.text).toBe(`beat ${taskRequests(fake).find((r) => r.due !== interrupted)!.due}`);
      // The interrupted occurrence reached the model once, ever; the chat heard why it got no answer.
      expect(taskRequests(fake).filter((r) => r.due === interrupted)).toHaveLength(1);
      expect(store.recentMessages('local:owner', 10).map((m) => m.text)).toContain(
        '⚠️ Scheduled task tkill was interrupted (the assistant stopped during the run) and is not repeated.',
      );
    } finally {
      await child.kill('SIGTERM');
      db.close();
      await fake.close();
    }
  });

  it('`carapace tasks` lists tasks with next run and last result; `carapace tasks run <id>` runs one now', async () => {
    h = await startHarness({
      env: FAST,
      script: (req) => {
        if (req.isSideRequest) return defaultScript(req);
        if (req.lastUserText.includes('<scheduled_task')) return { content: [text(`by hand: ${/run by hand="([^"]+)"/.test(req.lastUserText)}`)] };
        return defaultScript(req);
      },
    });
    const now = Date.now();
    h.app.store.tasks.create(
      { id: 'tcli', groupId: 1, createdBy: 1, prompt: 'Send the sales\npipeline', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: now, nextRun: now + 3_600_000 },
      now,
    );
    const env = { CARAPACE_DATA_DIR: h.dataDir, CARAPACE_TZ: 'UTC', CARAPACE_WEB_PORT: String(h.app.local.address().port) };
    const listed = await cli(['tasks'], env);
    expect(listed.stdout).toMatch(/^tcli {2}group=main {2}every 1h {2}active {2}group {2}next: \d{4}-\d\d-\d\d \d\d:\d\d \+00:00\n {4}prompt: Send the sales pipeline$/m);

    const ran = await cli(['tasks', 'run', 'tcli'], env);
    expect(ran).toMatchObject({ code: 0, stdout: 'Task tcli is running now; its reply goes to its chat.\n' });
    const [reply] = await h.waitForReplies(1);
    expect(reply.text).toBe('by hand: true');
    await until(() => taskRuns(h!)[0]?.status === 'succeeded');
    expect(h.app.store.tasks.get('tcli')!.nextRun).toBe(now + 3_600_000); // the schedule is untouched
    expect((await cli(['tasks'], env)).stdout).toMatch(/\n {4}last: .* manual succeeded in \d+\.\d s: by hand: true$/m);

    const unknown = await cli(['tasks', 'run', 'tnope'], env);
    expect(unknown).toMatchObject({ code: 1, stderr: 'No task "tnope"; `carapace tasks` lists them.\n' });
    const misused = await cli(['tasks', 'frobnicate'], env);
    expect(misused.code).toBe(2); // a usage error, with a pointer to the help
    expect(misused.stderr).toContain('`carapace help` lists the commands');
  });

  it('a task due when its group has spent its daily budget does not start; the chat is told why', async () => {
    h = await startHarness({ env: FAST });
    const { store } = h.app;
    store.setContainerConfig(1, { dailyTokenBudget: 100 });
    store.recordUsage({ groupId: 1, runId: 'earlier', inputTokens: 500, outputTokens: 50, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    const dueAt = Date.now() + 500;
    store.tasks.create(
      { id: 'tbudget', groupId: 1, createdBy: 1, prompt: 'expensive', scheduleType: 'once', scheduleValue: new Date(dueAt).toISOString(), contextMode: 'isolated', anchorAt: dueAt, nextRun: dueAt },
      Date.now(),
    );
    h.app.orchestrator.scheduler.reschedule();
    const [note] = await h.waitForReplies(1);
    expect(note.text).toMatch(/^⚠️ Scheduled task tbudget did not run: This chat has used its daily model budget \(550 of 100 tokens\)/);
    expect(taskRuns(h)).toEqual([expect.objectContaining({ status: 'skipped', error: expect.stringMatching(/daily model budget/) })]);
    expect(runs(h)).toEqual([]);
    expect(h.fake.requests.filter((r) => r.kind === 'main')).toEqual([]);
  });
});

