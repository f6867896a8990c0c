// One Carapace per data directory: a second `carapace start` is refused without touching the first one's
// sandboxes, and the lock of a Carapace killed with SIGKILL is taken over.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { startChildCarapace, type ChildCarapace } from './support/child-carapace.js';
import { defaultScript, startFakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir, testEnv } from './support/harness.js';
import { spawnCli } from './support/run-cli.js';

const post = (child: ChildCarapace, text: string) =>
  fetch(`${child.url}api/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });

describe('the instance lock', () => {
  it('refuses a second start on the same data directory, and takes over the lock of a killed one', async () => {
    // Every main-loop request hangs: the first instance's run stays in its sandbox while the second tries to start.
    const fake = await startFakeAnthropic({ script: (req) => (req.isSideRequest ? defaultScript(req) : { hang: true }) });
    const dataDir = sandboxReadableTempDir('carapace-lock-');
    const paths = dataPaths(dataDir);
    let first = await startChildCarapace(dataDir, fake.url);
    const db = openDatabase(paths.db);
    const store = new Store(db);
    let secondProc: ChildProcess | undefined;
    try {
      expect((await post(first, 'hello')).ok).toBe(true);
      await fake.waitForRequests(1, 30_000);
      const [run] = store.runningRuns();
      expect(run).toBeDefined();

      const t0 = performance.now();
      const spawned = spawnCli(['start'], { cwd: dataDir, env: { PATH: process.env.PATH, ...testEnv(dataDir, fake.url) } });
      secondProc = spawned.proc;
      const second = await spawned.done;
      expect(second.code).toBe(4);
      expect(second.stderr).toContain(
        `Carapace is already running for ${dataDir} (pid ${first.proc.pid}); stop it first or use another data dir`,
      );
      expect(performance.now() - t0).toBeLessThan(5_000); // a live holder is refused at once, not waited for
      // The first instance's sandbox was left alone: its run is still the one in progress, not retried.
      await sleep(1_000);
      expect(store.runningRuns().map((r) => r.id)).toEqual([run.id]);
      expect(fake.requests.filter((r) => r.kind === 'main')).toHaveLength(1);
      expect((await fetch(`${first.url}api/history`, { headers: { authorization: `Bearer ${first.token}` } })).status).toBe(200);

      await first.kill('SIGKILL'); // no shutdown code runs; the kernel drops the dead process's lock
      const t1 = performance.now();
      first = await startChildCarapace(dataDir, fake.url);
      const takeover = performance.now() - t1;
      expect(readFileSync(paths.instancePid, 'utf8').trim()).toBe(String(first.proc.pid));
      console.log(`takeover of a SIGKILLed instance's lock: ${(takeover / 1000).toFixed(1)} s`);

      await first.kill('SIGTERM'); // a clean stop releases the lock and forgets the pid
      expect(existsSync(paths.instancePid)).toBe(false);
      first = await startChildCarapace(dataDir, fake.url); // and the next start takes it
      expect(readFileSync(paths.instancePid, 'utf8').trim()).toBe(String(first.proc.pid));
    } finally {
      if (secondProc?.exitCode === null && secondProc.signalCode === null) secondProc.kill('SIGKILL'); // a second start that did not refuse
      await first.kill('SIGTERM');
      db.close();
      await fake.close();
    }
  }, 90_000);
});
