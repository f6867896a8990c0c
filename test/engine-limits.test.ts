// Docker (and podman, which shares the backend) tell which resource limit ended a sandbox, as bubblewrap does: the
// engine keeps the ended container (no --rm) until it has been asked whether the OOM killer ran, then removes it.
// A run killed at its memory cap gets the memory note and no retry, and no container is left, nor after a normal
// run. Real docker, the real SDK in the agent image, the fake model API.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installId } from '../src/core/recovery.js';
import { createRuntime } from '../src/sandbox/select.js';
import { defaultScript, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { addGroup, newestMessage, sayIn } from './support/scenario.js';
import { dockerRequired, testImageConfig, usableForTests } from './support/usable-engines.js';
import { until } from './support/wait.js';

// Many middling processes, none bigger than the agent: past the cap, the OOM killer picks the agent itself.
const HOGS = 'touch hogging; for i in $(seq 1 40); do (head -c 24000000 /dev/zero | tail > /dev/null &); done; sleep 60; echo SURVIVED';

const script: Script = (req) => {
  const said = newestMessage(req.lastUserText);
  if (!req.isSideRequest && req.toolResults.length === 0 && said.includes('hog')) return defaultScript({ ...req, lastUserText: `RUN_BASH: ${HOGS}` });
  return defaultScript(req);
};

const docker = createRuntime('docker', { stateDir: '/nonexistent', image: testImageConfig });
const availability = await usableForTests(docker);
if (!availability.ok) console.warn(`[engine-limits] docker excluded on this machine: ${availability.reason}`);

it('has docker whenever CARAPACE_REQUIRE_DOCKER=1 (CI)', () => {
  expect({ required: dockerRequired, availability }).not.toMatchObject({ required: true, availability: { ok: false } });
});

describe.runIf(availability.ok)('docker: limits a sandbox hit', () => {
  let h: Harness;
  /** Every container of this install, running or ended. */
  const all = () =>
    execFileSync('docker', ['ps', '-a', '--filter', `label=carapace.install=${installId(h.dataDir)}`, '--format', '{{.Names}} {{.Status}}'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  /** Each group's network holder stays between runs (src/sandbox/shared-netns.ts); the sandboxes must not. */
  const isHolder = (line: string) => line.startsWith('carapace-netns-');
  const containers = () => all().filter((c) => !isHolder(c));
  const runsOf = (folder: string) => {
    const group = h.app.store.listGroups().find((g) => g.folder === folder)!;
    return h.app.store.recentRuns(100).filter((r) => r.groupId === group.id);
  };

  beforeAll(async () => {
    // A short idle timeout: a run that answered ends (and its container goes) soon after.
    h = await startHarness({ script, env: { CARAPACE_IDLE_TIMEOUT_MS: '1000' }, runtime: (stateDir) => createRuntime('docker', { stateDir, image: testImageConfig }) });
  });
  afterAll(async () => {
    await h?.close();
    if (h) rmSync(h.dataDir, { recursive: true, force: true });
  });

  it('a normal run leaves no container behind', async () => {
    await h.say('hello');
    const [reply] = await h.waitForReplies(1, 60_000);
    expect(reply.text).toContain('ECHO');
    const run = await until(() => runsOf('main').find((r) => r.status !== 'running'), 30_000);
    expect(run.status).toBe('succeeded');
    // The removal runs after the exit is reported, off the run's path: it is done within moments.
    await until(() => (containers().length === 0 ? true : undefined), 10_000, () => `no containers, have ${containers().join('; ')}`);
    expect(all().filter(isHolder)).toEqual([expect.stringMatching(/ Up /)]);
  });

  it('an agent killed at its memory cap: the chat hears which limit and how to raise it, no retry, no container left', async () => {
    addGroup(h, 'fat', { containerConfig: { limits: { memoryMb: 400 } } });
    sayIn(h, 'local:fat', 'hog');
    const note = await until(
      () => h.app.store.recentMessages('local:fat', 20).find((m) => m.fromAssistant && m.text.startsWith('⚠️'))?.text,
      90_000,
      () => `a note in local:fat; log: ${h.logFile}`,
    );
    expect(note).toMatch(/^⚠️ Stopped: the agent ran out of memory \(its sandbox's memory limit\)\. The owner can raise it: `carapace groups set fat limits '\{"memoryMb": 4096\}'`\.$/);
    expect(existsSync(join(h.dataDir, 'groups', 'fat', 'hogging')), 'the tool ran').toBe(true);
    expect(runsOf('fat')).toHaveLength(1);
    expect(h.app.store.recentMessages('local:fat', 20).some((m) => m.text.includes('SURVIVED'))).toBe(false);
    await until(() => (containers().length === 0 ? true : undefined), 10_000, () => `no containers, have ${containers().join('; ')}`);
  });

  it('startup cleanup removes an ended container a crashed orchestrator left unremoved', async () => {
    const label = `carapace.install=${installId(h.dataDir)}`;
    const name = `carapace-crashed-${process.pid}`;
    execFileSync('docker', ['create', '--name', name, '--label', label, testImageConfig.base, 'true']);
    execFileSync('docker', ['start', '-a', name]); // ended, as a sandbox whose orchestrator died before removing it
    expect(containers()).toEqual([expect.stringMatching(new RegExp(`^${name} Exited \\(0\\)`))]);
    const fresh = createRuntime('docker', { stateDir: join(h.dataDir, 'sandboxes'), image: testImageConfig });
    const holders = all().filter(isHolder);
    expect(holders).toHaveLength(2); // main's and fat's, which a crashed orchestrator would leave too
    expect(await fresh.cleanupOrphans({ 'carapace.install': installId(h.dataDir) })).toBe(1 + holders.length);
    expect(all()).toEqual([]);
  });
});
