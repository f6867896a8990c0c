// Running an engine's command-line tool (docker, podman, container) and collecting what it said.
import { spawn } from 'node:child_process';

export interface Cli {
  /** Binary name on PATH, or a path. */
  bin: string;
  /** Its environment: the host's, so DOCKER_HOST, DOCKER_CONTEXT, CONTAINER_HOST… are honoured. */
  env: NodeJS.ProcessEnv;
}

export interface CliResult {
  /** Exit code; null when the binary could not run at all (then `missing` says whether it is absent). */
  code: number | null;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

export function runCli(cli: Cli, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(cli.bin, args, { env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    // Our own timer: spawn's `timeout` option keeps the process alive after a failed spawn.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr || e.message, missing: e.code === 'ENOENT' });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: timedOut ? `${stderr}\n${cli.bin} ${args[0]} gave no answer within ${timeoutMs} ms` : stderr });
    });
  });
}

/** The first line of what a failed command said, for error messages. */
export const firstLine = (r: CliResult) => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] || `exit ${r.code}`;
