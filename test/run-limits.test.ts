// A run that meets a limit is stopped, its chat is told which limit and how the owner raises it, and it is not
// retried into the same wall: the group folder's disk quota, the sandbox's memory cap, and the host's reserve of
// free disk (no run starts below it). Real bubblewrap sandboxes, the real SDK, the fake model API.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStatus, statusReport } from '../src/cli/status.js';
import { folderBytes } from '../src/fs/disk-use.js';
import { defaultScript, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { addGroup, newestMessage, sayIn } from './support/scenario.js';
import { until } from './support/wait.js';

const MB = 1024 * 1024;
// 300 MB at about 40 MB/s: several seconds, so the 2 s check must catch it well before the end.
const FILL = 'for i in $(seq 1 300); do head -c 1048576 /dev/urandom > /workspace/group/blob-$i || exit 1; sleep 0.025; done; echo FILLED';

const script: Script = (req) => {
  const said = newestMessage(req.lastUserText);
  if (!req.isSideRequest && req.toolResults.length === 0 && said.includes('fill')) return defaultScript({ ...req, lastUserText: `RUN_BASH: ${FILL}` });
  return defaultScript(req);
};

const noteIn = (h: Harness, chat: string) =>
  until(
    () => h.app.store.recentMessages(chat, 20).find((m) => m.fromAssistant && m.text.startsWith('⚠️'))?.text,
    40_000,
    () => `a note in ${chat}; log: ${h.logFile}`,
  );
const runsOf = (h: Harness, folder: string) => {
  const group = h.app.store.listGroups().find((g) => g.folder === folder)!;
  return h.app.store.recentRuns(100).filter((r) => r.groupId === group.id);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ script });
});
afterAll(async () => {
  await h?.close();
  if (h) rmSync(h.dataDir, { recursive: true, force: true }); // the folder the agent filled
});

describe('limits a run meets', () => {
  it('stops a run at its group folder quota, tells the chat how to raise it, and does not retry', async () => {
    addGroup(h, 'hog', { containerConfig: { diskQuotaMb: 20 } });
    addGroup(h, 'fat', { containerConfig: { limits: { memoryMb: 64 } } });
    const started = performance.now();
    sayIn(h, 'local:hog', 'fill');
    sayIn(h, 'local:fat', 'hello');

    const hog = await noteIn(h, 'local:hog');
    expect(hog).toMatch(/^⚠️ Stopped: this chat's folder reached its disk quota \(\d+ MB of 20 MB\)\. The owner can free space in \S+hog or raise the quota: `carapace groups set hog diskQuotaMb <MB>`\.$/);
    const used = (await folderBytes(join(h.dataDir, 'groups', 'hog')))!;
    expect(used).toBeGreaterThan(20 * MB);
    expect(used, 'stopped long before the 300 MB the agent meant to write').toBeLessThan(250 * MB);
    expect(runsOf(h, 'hog')).toHaveLength(1);
    expect(h.app.store.recentMessages('local:hog', 20).some((m) => m.text.includes('FILLED'))).toBe(false);

    // A sandbox killed at its memory cap: the chat hears which limit and the command that raises it.
    const fat = await noteIn(h, 'local:fat');
    expect(fat).toMatch(/^⚠️ Stopped: the agent ran out of memory \(its sandbox's memory limit\)\. The owner can raise it: `carapace groups set fat limits '\{"memoryMb": 4096\}'`\.$/);
    expect(runsOf(h, 'fat')).toHaveLength(1);
    console.log(`quota note after ${Math.round(performance.now() - started)} ms; hog folder ${Math.round(used / MB)} MB`);

    // `carapace status` shows each group's disk use against its quota.
    const report = statusReport(h.app.store, h.config);
    const row = report.groups.find((g) => g.folder === 'hog')!;
    expect(row.disk).toEqual({ usedBytes: used, quotaBytes: 20 * MB });
    expect(renderStatus(report)).toMatch(new RegExp(`disk: ${Math.round(used / MB)} MB of 20 MB \\(\\d+%\\)`));
  });
});

describe('the host keeps a reserve of free disk', () => {
  it('refuses to start a run below it, with a clear note', async () => {
    const low = await startHarness({ script, env: { CARAPACE_DISK_RESERVE_MB: String(1024 * 1024 * 1024) } });
    try {
      await low.say('hello');
      const [note] = await low.waitForReplies(1);
      expect(note.text).toMatch(/^⚠️ The host is nearly out of disk space \([\d,]+ MB free; it keeps 1,073,741,824 MB for its own store\), so I am not starting the agent\. The owner can free space on the host/);
      expect(low.fake.requests.length, 'no sandbox, no model call').toBe(0);
    } finally {
      await low.close();
    }
  });
});
