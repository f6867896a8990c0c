// The real `carapace start` in a child process, so a test can kill it the hard way (SIGKILL: no shutdown code
// runs) and start another on the same data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ROOT } from '../../src/app-root.js';
import { testEnv } from './harness.js';

export interface ChildCarapace {
  proc: ChildProcess;
  /** The local API's base URL and token, as the process printed them. */
  url: string;
  token: string;
  exited: Promise<void>;
  /** From spawning the process to its local API answering (the "web:" line), in ms. */
  readyMs: number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `command`: the script and its arguments (the real CLI's `start` by default). */
export async function startChildCarapace(
  dataDir: string,
  upstreamUrl: string,
  env: Record<string, string> = {},
  command = [join(APP_ROOT, 'bin', 'carapace.js'), 'start'],
): Promise<ChildCarapace> {
  const log = openSync(join(dataDir, 'child.log'), 'a');
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, command, {
    cwd: dataDir, // no stray .env from the repository
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'debug', ...testEnv(dataDir, upstreamUrl, env) },
    stdio: ['ignore', log, 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`carapace did not start: ${stderr}`)), 30_000);
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /web: +(http:\/\/\S+\/)#token=(\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then(() => reject(new Error(`carapace exited during start: ${stderr}`)));
  });
  const readyMs = performance.now() - spawnedAt;
  return {
    proc,
    readyMs,
    url: ready[1],
    token: ready[2],
    exited,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
