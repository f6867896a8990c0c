// Specs and runs for sandbox tests: a writable /workspace and a read-only /ro from the host, the rest as asked.
import type { SandboxHandle, SandboxRuntime, SandboxSpec } from '../../src/sandbox/runtime.js';

export const SANDBOX_UID = 1000;

export function testSpec(
  name: string,
  dirs: { ws: string; ro: string },
  labels: Record<string, string>,
  command: string[],
  extra: Partial<SandboxSpec> = {},
): SandboxSpec {
  return {
    name,
    labels,
    mounts: [
      { host: dirs.ws, sandbox: '/workspace', readonly: false },
      { host: dirs.ro, sandbox: '/ro', readonly: true },
    ],
    workdir: '/workspace',
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/agent', GREETING: 'hello' },
    user: { uid: SANDBOX_UID, gid: SANDBOX_UID },
    network: { mode: 'none' },
    limits: {},
    command,
    ...extra,
  };
}

/** Everything the sandbox prints, as it arrives. */
export function collect(h: SandboxHandle): { text: () => string } {
  let out = '';
  h.output.on('data', (d: Buffer) => (out += d));
  return { text: () => out };
}

/** Start, wait for the end, and return the exit with the output. */
export async function runToEnd(rt: SandboxRuntime, spec: SandboxSpec) {
  const h = await rt.start(spec);
  const out = collect(h);
  const exit = await h.exited;
  return { ...exit, out: out.text() };
}
