import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { localChatToken } from '../src/app.js';
import { runTaskNow, tasksReport } from '../src/cli/tasks.js';
import { loadConfig } from '../src/config.js';
import { dataPaths } from '../src/fs/paths.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';
import { sandboxReadableTempDir } from './support/harness.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('carapace tasks', () => {
  it('with the assistant stopped, "run" queues the task for its next start, once', async () => {
    const dataDir = sandboxReadableTempDir('carapace-cli-tasks-');
    const config = loadConfig({ CARAPACE_DATA_DIR: dataDir, CARAPACE_WEB_PORT: String(await closedPort()) }, { requireCredentials: false });
    const store = new Store(openDatabase(dataPaths(dataDir).db));
    expect(tasksReport(store, 'UTC')).toBe('No scheduled tasks.');
    const g = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
    const task = store.tasks.create(
      { id: 'tq', groupId: g.id, createdBy: g.id, prompt: 'p', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'group', anchorAt: 0, nextRun: 3_600_000 },
      0,
    );
    expect(await runTaskNow(config, store, task.id, 10)).toBe('Carapace is not running: task tq runs as soon as it starts.');
    await expect(runTaskNow(config, store, task.id, 20)).rejects.toThrow('task tq already has a run waiting to start');
    localChatToken(dataDir); // started once before: a token, but nobody listening now
    store.tasks.create({ ...task, id: 'tr' }, 0);
    expect(await runTaskNow(config, store, 'tr', 10)).toBe('Carapace is not running: task tr runs as soon as it starts.');
    expect(store.tasks.history(task.id, 5).map((o) => [o.trigger, o.status, o.dueAt])).toEqual([['manual', 'claimed', 10]]);
    store.tasks.update(task.id, { status: 'cancelled' }, 30);
    await expect(runTaskNow(config, store, task.id, 40)).rejects.toThrow('Task tq is cancelled.');
    expect(tasksReport(store, 'UTC')).toContain('tq  group=main  every 1h  cancelled  group  next: 1970-01-01 01:00 +00:00');
  });
});
