// Rehearse a skill: run its `bash rehearse` blocks in order, as the user's shell would, against a temporary
// install the scenario prepares (fake platform servers, a data directory, a copy of the repository). Blocks share
// exported variables; `carapace` on PATH is this checkout's. Between blocks the scenario plays the user's part
// (sending a pairing code from the phone, stopping the service); at the end it checks the outcome.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ROOT } from '../../src/app-root.js';
import type { Block } from './parse.js';

const BLOCK_TIMEOUT_MS = 90_000;

export interface Stage {
  /** Environment of every block (on top of PATH and HOME). */
  env: Record<string, string>;
  cwd: string;
  /** The user's part after block `index` (0-based among the runnable blocks), given the exported variables. */
  after?(index: number, vars: Record<string, string>): Promise<void>;
  /** Blocks expected to fail (a rollback case): their failure is the point, their success a problem. */
  expectFailure?: number[];
  /** The outcome, once every block ran; throws with what is wrong. */
  verify(vars: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface Scenario {
  skill: string;
  title: string;
  /** Set when the scenario cannot run in this build: why (it is reported, not passed). */
  unavailable?(): Promise<string | undefined>;
  prepare(work: string): Promise<Stage>;
}

export interface BlockRun {
  line: number;
  code: number | null;
  output: string;
  ms: number;
}

/** A `carapace` on PATH that runs this checkout, as `npm link` would. */
export function carapaceShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'carapace');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(APP_ROOT, 'bin', 'carapace.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

/** Run one block with the variables earlier blocks exported; returns its exit code, output and the new variables. */
export function runBlock(block: Block, stage: Stage, stateFile: string, binDir: string): Promise<BlockRun> {
  const script = [`[ -f "${stateFile}" ] && . "${stateFile}"`, 'set -euo pipefail', block.code, `export -p > "${stateFile}"`].join('\n');
  const started = Date.now();
  return new Promise((resolve) => {
    const proc = spawn('bash', ['-c', script], {
      cwd: stage.cwd,
      env: { PATH: `${binDir}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...stage.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c) => (output += c));
    proc.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => proc.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ line: block.line, code, output, ms: Date.now() - started });
    });
  });
}

/** The variables the blocks exported so far (`export -p` output, read back by bash itself). */
export async function exportedVars(stateFile: string): Promise<Record<string, string>> {
  if (!existsSync(stateFile)) return {};
  const dump = await new Promise<string>((resolve) => {
    const proc = spawn('bash', ['-c', `. "${stateFile}"; env -0`], { env: {}, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.on('close', () => resolve(out));
  });
  return Object.fromEntries(dump.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

export interface RehearsalResult {
  skill: string;
  title: string;
  ok: boolean;
  skipped?: string;
  problem?: string;
  blocks: BlockRun[];
  ms: number;
}

/** Prepare the scenario, run the blocks in order with the user's part between them, verify, clean up. */
export async function rehearse(scenario: Scenario, blocks: Block[], work: string): Promise<RehearsalResult> {
  const started = Date.now();
  const result: RehearsalResult = { skill: scenario.skill, title: scenario.title, ok: false, blocks: [], ms: 0 };
  const skipped = await scenario.unavailable?.();
  if (skipped) return { ...result, skipped, ms: Date.now() - started };
  mkdirSync(work, { recursive: true });
  const stateFile = join(work, 'exported.sh');
  const binDir = carapaceShim(join(work, 'bin'));
  let stage: Stage | undefined;
  try {
    stage = await scenario.prepare(work);
    for (const [i, block] of blocks.entries()) {
      const run = await runBlock(block, stage, stateFile, binDir);
      result.blocks.push(run);
      const expectedToFail = stage.expectFailure?.includes(i) === true;
      if ((run.code !== 0) !== expectedToFail) {
        const what = expectedToFail ? 'succeeded but this case must fail' : `failed (exit ${run.code})`;
        throw new Error(`block at line ${block.line} ${what}:\n${tail(run.output)}`);
      }
      await stage.after?.(i, await exportedVars(stateFile));
    }
    await stage.verify(await exportedVars(stateFile));
    result.ok = true;
  } catch (err) {
    result.problem = (err as Error).message;
  } finally {
    await stage?.close().catch((err) => (result.problem ??= `cleanup failed: ${(err as Error).message}`));
  }
  result.ms = Date.now() - started;
  return result;
}

const tail = (text: string) => text.trim().split('\n').slice(-15).map((l) => `    ${l}`).join('\n');

/** A file's text, or a clear error naming it. */
export function readText(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} was not written`);
  return readFileSync(file, 'utf8');
}

/** A scenario's check: throws `what` (what is wrong) unless `ok`. */
export function must(ok: unknown, what: string): void {
  if (!ok) throw new Error(what);
}
