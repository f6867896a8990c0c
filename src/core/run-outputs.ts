// Reading what a sandbox wrote into its out/ directory. The sandbox controls those files completely, so each is
// opened without following links, must be a small regular file holding one well-formed output, and anything
// else is moved aside (kept for inspection, never silently dropped) with the reason logged.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AgentTree, UnsafePathError } from '../fs/safe-write.js';
import { MAX_OUTPUT_BYTES, outputSchema, type Output } from '../ipc/protocol.js';

export type ReadOutcome = { ok: true; output: Output } | { ok: false; reason: string };

/** Read one output file the way an untrusted file must be read (no link followed, no FIFO waited on, capped). */
export function readOutputFile(path: string): ReadOutcome {
  let text: string;
  try {
    text = new AgentTree(dirname(path)).read(basename(path), MAX_OUTPUT_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof UnsafePathError) return { ok: false, reason: err.problem };
    return { ok: false, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `is not JSON (${(err as Error).message})` };
  }
  const parsed = outputSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: `is not a valid output: ${z.prettifyError(parsed.error)}` };
  return { ok: true, output: parsed.data as Output };
}

/**
 * Move a refused output out of the run directory into `rejectedDir`, and say why in the log. The entry moves as it
 * is (a link as a link, a directory whole); a fresh name each time, so the same name refused twice still moves.
 */
export function setAside(file: string, name: string, runId: string, rejectedDir: string, reason: string, log: Logger): void {
  const dest = join(rejectedDir, `${runId}-${name}-${randomBytes(3).toString('hex')}`);
  try {
    mkdirSync(rejectedDir, { recursive: true, mode: 0o700 });
    renameSync(file, dest); // out/ is the host's mount point, and the agent cannot swap it: only `name` is theirs
    log.warn({ run: runId, file: name, reason, keptAt: dest }, 'run output refused and set aside');
  } catch (err) {
    // Never a recursive delete in a tree the agent is changing: at most the entry itself, so it is not read again.
    try {
      unlinkSync(file);
    } catch {
      // a directory that would not move: it stays, and is refused again (and logged) on the next scan
    }
    log.error({ run: runId, file: name, reason, err: (err as Error).message }, 'run output refused; could not keep a copy');
  }
}
