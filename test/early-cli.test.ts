// The runner starts Claude Code before it loads the SDK and hands that process over when query() asks for one.
// End to end (real bwrap, real SDK): a fresh conversation and a resumed one both use the early process. Unit: when
// the SDK asks for a different command line, the early process is not used and the SDK gets what it asked for.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StartRequest } from '../src/ipc/protocol.js';
import { claudeBinary, startEarlyCli } from '../src/runner/early-cli.js';
import { sandboxReadableTempDir, startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  vi.restoreAllMocks();
});

const TAKEN = 'Claude Code was started early and taken by the SDK';
/** Runs (by id) whose sandbox logged `msg`. */
const runsLogging = (x: Harness, msg: string) =>
  readFileSync(x.logFile, 'utf8').split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l).run as string);

describe('Claude Code started before the SDK loads', () => {
  it('a fresh and a resumed conversation both run on the early process', async () => {
    h = await startHarness({ env: { CARAPACE_IDLE_TIMEOUT_MS: '100' } });
    const harness = h;
    await harness.say('first message');
    await harness.waitForReplies(1);
    await until(() => harness.app.store.runningRuns().length === 0, 10_000, () => 'the first run to idle out');
    await harness.say('second message');
    const replies = await harness.waitForReplies(2);
    expect(replies[1].text).toContain('second message');

    const runs = harness.app.store.db.prepare('SELECT id FROM runs ORDER BY started_at').pluck().all() as string[];
    expect(runs).toHaveLength(2);
    expect(runsLogging(harness, TAKEN)).toEqual(runs);
    // The second run resumed the conversation: its request carries the first turn.
    const last = harness.fake.requests.filter((r) => r.kind === 'main').at(-1)!;
    expect(JSON.stringify(last.body.messages)).toContain('first message');
  });

  it('a different command line from the SDK gets what it asked for, not the early process', async () => {
    const start = { model: 'claude-test-model', authMode: 'apiKey', proxyToken: 't', timeZone: 'UTC', cliEnv: {} } as unknown as StartRequest;
    const complaints = vi.spyOn(console, 'error').mockImplementation(() => {});
    const early = startEarlyCli(start, 'http://127.0.0.1:9');
    const child = early.spawn({ command: claudeBinary(), args: ['--version'], cwd: sandboxReadableTempDir('early-cli-'), env: { PATH: '/usr/bin:/bin' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/\d+\.\d+\.\d+/); // the version, printed by the process the SDK asked for
    expect(complaints).toHaveBeenCalledWith('the early Claude Code process was not used: the SDK asked for a different one');
    early.discard(); // nothing left to stop: the early process was already dropped
  });
});
