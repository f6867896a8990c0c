// Reading what a sandbox wrote into its out/ directory. The sandbox controls those files completely, so each is
// opened without following links, must be a small regular file holding one well-formed output, and anything
// else is moved aside (kept for inspection, never silently dropped) with the reason logged.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { MAX_OUTPUT_BYTES, outputSchema, type Output } from '../ipc/protocol.js';


export type ReadOutcome = { ok: true; output: Output } | { ok: false; reason: string };

/** Read one output file the way an untrusted file must be read. */
export function readOutputFile(path: string): ReadOutcome {
  let fd: number;
  try {
    // O_NOFOLLOW: a planted symlink fails here instead of making the host read a file of its choosing.
    // O_NONBLOCK: a planted FIFO cannot stall the host.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ELOOP' ? 'is a symbolic link' : `cannot be opened (${code})` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'is not a regular file' };
    if (st.size > MAX_OUTPUT_BYTES) return { ok: false, reason: `is ${st.size} bytes, more than the ${MAX_OUTPUT_BYTES} allowed` };
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
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

/** Move a refused output out of the run directory into `rejectedDir`, and say why in the log. */
export function setAside(file: string, name: string, runId: string, rejectedDir: string, reason: string, log: Logger): void {
  const dest = join(rejectedDir, `${runId}-${name}`);
  try {
    mkdirSync(rejectedDir, { recursive: true, mode: 0o700 });
    renameSync(file, dest);
    log.warn({ run: runId, file: name, reason, keptAt: dest }, 'run output refused and set aside');
  } catch (err) {
    rmSync(file, { force: true, recursive: true }); // it must not be read again on every rescan
    log.error({ run: runId, file: name, reason, err: (err as Error).message }, 'run output refused; could not keep a copy');
  }
}
