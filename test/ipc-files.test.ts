import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listReady, watchDir, writeJsonAtomic } from '../src/ipc/files.js';
import { until } from './support/wait.js';

const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

/** Watch a fresh directory; `scans` lists what each wake-up found. */
function watched() {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-ipc-'));
  const scans: string[][] = [];
  stops.push(watchDir(dir, () => void scans.push(listReady(dir)), 60_000, (err) => scans.push([`failed: ${String(err)}`])));
  return { dir, scans };
}
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('watching a message directory', () => {
  it('wakes for a finished file, not for the temp file it is written as', async () => {
    const { dir, scans } = watched();
    await until(() => scans.length === 1, 2000, () => 'the first scan'); // files written before watching
    writeFileSync(join(dir, '.tmp-abc'), '{"type":"close"}');
    await settle();
    expect(scans).toEqual([[]]); // the temp file alone woke nobody
    renameSync(join(dir, '.tmp-abc'), join(dir, '000001.json'));
    await until(() => scans.length > 1, 2000, () => `a scan after the rename, got ${JSON.stringify(scans)}`);
    expect(scans.at(-1)).toEqual(['000001.json']);
  });

  it('delivers every file written the atomic way, in order', async () => {
    const { dir, scans } = watched();
    for (let i = 1; i <= 3; i++) writeJsonAtomic(join(dir, `00000${i}.json`), { seq: i });
    await until(() => scans.at(-1)?.length === 3, 2000, () => `three files, got ${JSON.stringify(scans)}`);
    expect(scans.at(-1)).toEqual(['000001.json', '000002.json', '000003.json']);
    expect(scans.every((found) => found.every((name) => !name.startsWith('.')))).toBe(true);
  });
});
