// `npm run bench:docker-cold`: what Docker adds to a cold start, and the shared network namespace's effect on it.
// 1. The engine alone, interleaved: `docker create` then `docker start -a` until the container's first line, in a
//    fresh `--network none` namespace vs joining a holder's (src/sandbox/shared-netns.ts).
// 2. The whole cold path (owner's message, no live sandbox → model request), interleaved A/B/SDK: Docker with a
//    namespace per sandbox (before), Docker sharing the group's (after), and the SDK's own cold start beside them,
//    split into message → runtime.start() called → start() returned (container created, client attached) → request.
import { spawn } from 'node:child_process';
import { loadConfig } from '../src/config.js';
import { DockerRuntime } from '../src/sandbox/docker.js';
import type { SandboxRuntime, SandboxSpec } from '../src/sandbox/runtime.js';
import { runCli } from '../src/sandbox/cli.js';
import { sandboxReadableTempDir, startHarness, type Harness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';
import { openSdkProbe } from './sdk-alone.js';
import { stats } from './stats.js';

const SAMPLES = Number(process.env.BENCH_COLD ?? 20);
const image = loadConfig({ ...process.env }, { requireCredentials: false }).image;

/** Docker as before: every sandbox in a namespace of its own. */
class UnsharedDocker extends DockerRuntime {
  constructor(stateDir: string) {
    super({ stateDir, image });
    this.sharedNetworks = undefined;
  }
}

/** Wraps a runtime's start() to note when it was called and when it returned. */
function timed(rt: DockerRuntime) {
  const marks: { called: number; returned: number }[] = [];
  const start = rt.start.bind(rt);
  rt.start = async (spec: SandboxSpec) => {
    const called = performance.now();
    const handle = await start(spec);
    marks.push({ called, returned: performance.now() });
    return handle;
  };
  return marks;
}

/** ms from spawning `docker args` to its first byte of output. */
function toFirstLine(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = spawn('docker', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let at = NaN;
    c.stdout.once('data', () => (at = performance.now() - t0));
    c.on('close', () => resolve(at));
  });
}

async function engineAlone(img: string) {
  const holder = `bench-netns-holder-${process.pid}`;
  await runCli({ bin: 'docker', env: process.env }, ['run', '-d', '--name', holder, '--network', 'none', '--user', '1000:1000', img, 'sleep', 'infinity']);
  const flags = ['--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--read-only', '--init', '--user', '1000:1000', '--log-driver', 'none', '--memory', '1024m', '--pids-limit', '512'];
  const variants = { ownNamespace: ['--network', 'none'], joined: ['--network', `container:${holder}`] };
  const out = { create: { ownNamespace: [] as number[], joined: [] as number[] }, startToFirstLine: { ownNamespace: [] as number[], joined: [] as number[] } };
  for (let i = 0; i < SAMPLES + 1; i++)
    for (const [key, net] of Object.entries(variants) as [keyof typeof variants, string[]][]) {
      const name = `bench-netns-${process.pid}-${key}-${i}`;
      const t0 = performance.now();
      await runCli({ bin: 'docker', env: process.env }, ['create', '--name', name, ...net, ...flags, img, 'sh', '-c', 'echo up']);
      const created = performance.now() - t0;
      const started = await toFirstLine(['start', '-a', name]);
      await runCli({ bin: 'docker', env: process.env }, ['rm', '-f', name]);
      if (i > 0) out.create[key].push(created), out.startToFirstLine[key].push(started);
    }
  await runCli({ bin: 'docker', env: process.env }, ['rm', '-f', holder]);
  const s = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, stats(v)]));
  return { create: s(out.create), startToFirstLine: s(out.startToFirstLine) };
}

async function coldHarness(rt: SandboxRuntime): Promise<Harness> {
  return startHarness({ runtime: () => rt, env: { CARAPACE_IDLE_TIMEOUT_MS: '100' } });
}

async function main() {
  const state = sandboxReadableTempDir('carapace-bench-docker-');
  const before = new UnsharedDocker(`${state}/before`);
  const after = new DockerRuntime({ stateDir: `${state}/after`, image });
  await before.prepare();
  await after.prepare();
  console.log('engine alone (ms)', JSON.stringify(await engineAlone(before.image!), null, 1));
  const marks = { before: timed(before), after: timed(after) };
  const sdk = await openSdkProbe();
  const harness = { before: await coldHarness(before), after: await coldHarness(after) };
  const cold = { before: [] as number[], after: [] as number[], sdk: [] as number[] };
  const phases = { before: { toStart: [] as number[], start: [] as number[], toRequest: [] as number[] }, after: { toStart: [] as number[], start: [] as number[], toRequest: [] as number[] } };
  for (let i = 0; i < SAMPLES + 1; i++) {
    const sdkMs = await sdk.cold();
    for (const key of i % 2 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
      const h = harness[key];
      while (h.app.store.runningRuns().length > 0) await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      const ms = await messageToModel(h, () => h.say(`cold message ${i}`));
      await h.waitForReplies(i + 1);
      const m = marks[key].at(-1)!;
      if (i === 0) continue; // the first start of each pays for the holder (after) and warms the engine
      cold[key].push(ms);
      phases[key].toStart.push(m.called - t0);
      phases[key].start.push(m.returned - m.called);
      phases[key].toRequest.push(t0 + ms - m.returned);
    }
    if (i > 0) cold.sdk.push(sdkMs);
  }
  for (const h of Object.values(harness)) await h.close();
  await sdk.close();
  const p50 = (a: number[]) => stats(a).p50;
  console.log('cold: message → model request (ms)', { before: stats(cold.before), after: stats(cold.after), sdkCold: stats(cold.sdk) });
  console.log('phases p50 (ms): message → start() called, start() → returned, returned → model request', {
    before: Object.fromEntries(Object.entries(phases.before).map(([k, v]) => [k, p50(v)])),
    after: Object.fromEntries(Object.entries(phases.after).map(([k, v]) => [k, p50(v)])),
  });
  const ratio = (a: number[]) => Math.round((p50(a) / p50(cold.sdk)) * 100) / 100;
  console.log('p50 ratio to the SDK alone, cold', { before: ratio(cold.before), after: ratio(cold.after) });
}

await main();
