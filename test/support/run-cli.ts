// The real `carapace` command (bin/carapace.js over dist/) in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { APP_ROOT } from '../../src/app-root.js';
import { runCli as runCommandLine } from '../../src/cli/main.js';
import type { Config } from '../../src/config.js';

export const CARAPACE_BIN = join(APP_ROOT, 'bin', 'carapace.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `carapace <args>`; `done` resolves with what it printed once it exits. */
export function spawnCli(args: string[], opts: { cwd: string; env: Record<string, string | undefined> }): { proc: ChildProcess; done: Promise<CliRun> } {
  return collect(spawn(process.execPath, [CARAPACE_BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** What a child prints, once it exits. */
function collect(proc: ChildProcess): { proc: ChildProcess; done: Promise<CliRun> } {
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliRun>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, done };
}

/** Run `carapace <args>` to the end with no input. */
export function runCli(args: string[], opts: { cwd: string; env: Record<string, string | undefined> }): Promise<CliRun> {
  const { proc, done } = spawnCli(args, opts);
  proc.stdin!.end();
  return done;
}

/** `carapace <argv>` in this process with `config`: its exit code and what it printed. */
export async function cliInProcess(config: Config, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => (stdout += c));
  err.on('data', (c) => (stderr += c));
  const code = await runCommandLine(argv, { out, err, config: () => config, exitCode: 0 });
  return { code, stdout, stderr };
}

/** A loopback port nothing listens on right now (for a Carapace that must come back on the same address). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `carapace <args>` run by a shell, for pipelines such as `echo hi | carapace chat`; `$CARAPACE` is the command. */
export function runShell(script: string, opts: { cwd: string; env: Record<string, string | undefined> }): Promise<CliRun> {
  const { proc, done } = spawnShell(script, opts);
  proc.stdin!.end();
  return done;
}

function spawnShell(script: string, opts: { cwd: string; env: Record<string, string | undefined> }) {
  const env = { ...opts.env, CARAPACE: `${process.execPath} ${CARAPACE_BIN}` /* word-split by the shell: paths without spaces */ };
  return collect(spawn('bash', ['-c', script], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] }));
}
