// Proof that a backend really runs agents here: one throw-away sandbox, with the same isolation as an agent's,
// that runs the runner's Node.js on the runner's package and answers with a known line.
import { randomBytes } from 'node:crypto';
import { APP_MOUNT, type SandboxRuntime, type SandboxSpec } from './runtime.js';

const ANSWER = 'carapace-self-test-ok';

export interface SelfTestOptions {
  /** The runner's package (dist/, node_modules/, package.json), as agents get it. */
  appDir: string;
  user: { uid: number; gid: number };
  /** Labels of this install, so orphan cleanup finds a self-test left behind by a crash. */
  labels: Record<string, string>;
}

/** Start one sandbox that prints a known line from the runner's package; resolves with how long it took. */
export async function selfTest(runtime: SandboxRuntime, opts: SelfTestOptions, timeoutMs = 60_000): Promise<{ ms: number }> {
  const t0 = performance.now();
  const script = `require('node:fs').accessSync('${APP_MOUNT}/package.json'); process.stdout.write('${ANSWER}')`;
  const spec: SandboxSpec = {
    name: `carapace-selftest-${randomBytes(4).toString('hex')}`,
    labels: { ...opts.labels, 'carapace.group': 'self-test', 'carapace.run': 'self-test' },
    appDir: opts.appDir,
    mounts: [],
    workdir: '/',
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp' },
    user: opts.user,
    network: { mode: 'none' },
    limits: { memoryMb: 256, pids: 64, cpus: 1, wallClockMs: timeoutMs },
    command: ['node', '-e', script],
  };
  const handle = await runtime.start(spec);
  let output = '';
  handle.output.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = await handle.exited;
  if (exit.code !== 0 || !output.includes(ANSWER)) {
    const how = exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`;
    throw new Error(`the ${runtime.kind} self-test sandbox failed (${how}): ${output.trim().slice(-500) || 'no output'}`);
  }
  return { ms: Math.round(performance.now() - t0) };
}
