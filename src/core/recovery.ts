// Start-up after a crash: runs a dead process left marked running are closed, what they wrote is replayed.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listReady } from '../ipc/files.js';
import type { Output } from '../ipc/protocol.js';
import type { Core } from './core.js';
import { noteTaskEnds } from './notes.js';
import type { OutputContext } from './outputs.js';
import { readOutputFile, setAside } from './run-outputs.js';

/**
 * Runs marked running belong to a process that died. Their sandboxes are gone (die-with-parent, orphan
 * cleanup); what they wrote but we had not stored yet is replayed — the outbox key makes that idempotent.
 */
export function recoverRuns(core: Core, onOutput: (ctx: OutputContext, output: Output) => void): void {
  const { store, log, paths } = core;
  for (const row of store.runningRuns()) {
    const group = store.groupById(row.groupId);
    const outDir = join(paths.run(row.id), 'out');
    if (group && existsSync(outDir)) {
      for (const name of listReady(outDir)) {
        const read = readOutputFile(join(outDir, name));
        if (read.ok) onOutput({ group, runId: row.id, isolated: row.isolated }, read.output);
        else setAside(join(outDir, name), name, row.id, paths.rejectedDir, `${name} ${read.reason}`, log);
      }
    }
    store.endRun(row.id, 'abandoned', 'orchestrator stopped during the run');
    log.warn({ run: row.id }, 'recovered a run interrupted by a restart');
  }
  // Task occurrences a dead process was running may have had effects already: they are not repeated.
  // (Occurrences it had only claimed never started; they simply run now.)
  noteTaskEnds(core, store.tasks.abandonRunning('the assistant stopped during the run'));
  if (existsSync(paths.runsDir)) {
    for (const dir of readdirSync(paths.runsDir)) rmSync(join(paths.runsDir, dir), { recursive: true, force: true });
  }
}

/** A stable id for this data directory, so orphan cleanup never touches another install's sandboxes. */
export function installId(dataDir: string): string {
  const file = join(dataDir, 'install-id');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}\n`);
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The temporary folder for this process's per-run sockets, named after the install (hashed short: socket paths
 * are limited to ~104 bytes). One Carapace runs per data directory, so folders of the same install left by a
 * process that was killed are stale: they are removed here instead of piling up in the temp folder.
 */
export function freshSocketDir(install: string): string {
  const prefix = `carapace-${createHash('sha256').update(install).digest('hex').slice(0, 8)}-`;
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(prefix)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711); // the sandbox uid must reach its socket; it cannot list others
  return dir;
}
