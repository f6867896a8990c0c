// `npm run bench`: per sandbox backend available here (bwrap, docker, podman), side by side: sandbox cold start,
// host overhead per message with a warm (reused) and a cold sandbox, per-sandbox memory; then each chat channel's overhead,
// model proxy overhead, scheduler lateness, the safe write path into agent trees, the scale grid, host memory
// (measured alone, in a child process), host core size; and the SDK alone, so Carapace's figures are also ratios
// to the limit (bench/limits.ts). Everything else runs in one process on this machine;
// results go to bench/results/ (docs/runtimes.md has the backend table).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_ROOT } from '../src/app-root.js';
import { loadConfig } from '../src/config.js';
import type { RuntimeKind, SandboxRuntime } from '../src/sandbox/runtime.js';
import { createRuntime, usesImage } from '../src/sandbox/select.js';
import { bwrapArgs, bwrapFdData } from '../src/sandbox/bwrap-args.js';
import { findBwrap } from '../src/sandbox/bwrap-probe.js';
import { spawnBwrap } from '../src/sandbox/bwrap-spawn.js';
import { seccompArch, seccompProgram } from '../src/sandbox/seccomp.js';
import { sandboxReadableTempDir, startHarness, type Harness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';
import { channelSections } from './channels.js';
import { approvalCardLatency } from './approvals.js';
import { measureProxyOverhead } from './proxy.js';
import { measureSafeWrite } from './safe-write.js';
import { measureSecretSubstitution } from './secrets.js';
import { schedulerLateness } from './scheduler.js';
import { hostMemory } from './host-memory.js';
import { speedRatios } from './limits.js';
import { scaleBench } from './scale.js';
import { openSdkProbe, type SdkProbe } from './sdk-alone.js';
import { stats } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WARM_MESSAGES = Number(process.env.BENCH_WARM ?? 60);
const COLD_MESSAGES = Number(process.env.BENCH_COLD ?? 30);
const SANDBOX_STARTS = Number(process.env.BENCH_STARTS ?? 30);
const TASK_OCCURRENCES = Number(process.env.BENCH_TASK_OCCURRENCES ?? 120);
const SAFE_WRITE_FILES = Number(process.env.BENCH_SAFE_WRITE_FILES ?? 2000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'bwrap,docker,podman').split(',') as RuntimeKind[];
const SCALE_SAMPLES = Number(process.env.BENCH_SCALE_SAMPLES ?? 20);
const MEMORY_GROUPS = Number(process.env.BENCH_MEMORY_GROUPS ?? 1000);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_S ?? 90);


async function waitNoLiveRun(h: Harness): Promise<void> {
  while (h.app.store.runningRuns().length > 0) await new Promise((r) => setTimeout(r, 20));
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
const tree = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(tree)];
const mb = (kb: number) => Math.round(kb / 102.4) / 10;

/**
 * Memory of the one live agent sandbox of a harness (idle, after answering): RSS of the agent's own processes
 * (runner + Claude Code CLI) and of what the backend adds per sandbox on the host (bwrap's two processes; for
 * engines the attached CLI client, the shim or conmon, and the init inside). RSS counts shared pages in full.
 */
function sandboxMemory(rt: SandboxRuntime, sandbox: { name: string; pid?: number }) {
  let agent: number[];
  let overhead: number[];
  if (usesImage(rt)) {
    // Host pids of the container's processes (podman's `top` runs ps inside unless asked for hpid).
    const topArgs = rt.kind === 'podman' ? ['top', sandbox.name, 'hpid'] : ['top', sandbox.name, '-eo', 'pid'];
    const top = execFileSync(rt.cli.bin, topArgs).toString().trim().split('\n').slice(1).map(Number);
    const shim = Number(readFileSync(`/proc/${top[0]}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    agent = top.filter((p) => !['docker-init', 'podman-init', 'catatonit'].includes(comm(p)));
    overhead = [sandbox.pid!, shim, ...top.filter((p) => !agent.includes(p))];
  } else {
    const all = tree(sandbox.pid!);
    agent = all.filter((p) => comm(p) !== 'bwrap');
    overhead = all.filter((p) => comm(p) === 'bwrap');
  }
  const sum = (pids: number[]) => mb(pids.reduce((a, p) => a + rssKb(p), 0));
  return { agentMb: sum(agent), backendOverheadMb: sum(overhead), processes: { agent: agent.map(comm), overhead: overhead.map(comm) } };
}

/** Inbound (message → model request) and outbound (model's last byte → reply at the chat client), warm sandbox. */
/** Warm messages, each right after one warm turn of the SDK alone (`sdk`), so both see the same moment. */
async function warmOverhead(runtime: SandboxRuntime, sdk: SdkProbe) {
  const h = await startHarness({ runtime: () => runtime });
  try {
    await h.say('warm up');
    await h.waitForReplies(1);
    const inbound: number[] = [];
    const outbound: number[] = [];
    const sdkWarm: number[] = [];
    for (let i = 0; i < WARM_MESSAGES; i++) {
      sdkWarm.push(await sdk.warm());
      inbound.push(await messageToModel(h, () => h.say(`warm message ${i}`)));
      const reply = (await h.waitForReplies(i + 2)).at(-1)!;
      outbound.push(reply.at - h.fake.requests.filter((r) => r.kind === 'main').at(-1)!.respondedAt!);
    }
    const [live] = await runtime.list({ 'carapace.group': 'main' });
    // The first few turns of a fresh CLI process are still warming its caches.
    return {
      inbound: inbound.slice(5),
      outbound: outbound.slice(5),
      sdkWarm: sdkWarm.slice(5),
      hostRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      memory: sandboxMemory(runtime, live),
    };
  } finally {
    await h.close();
  }
}


/** Cold messages, each after one cold start of the SDK alone in this process and one as a fresh process. */
async function coldOverhead(runtime: SandboxRuntime, sdk: SdkProbe) {
  // A tiny idle timeout makes every message find no live sandbox.
  const h = await startHarness({ runtime: () => runtime, env: { CARAPACE_IDLE_TIMEOUT_MS: '100' } });
  try {
    const samples: number[] = [];
    const sdkCold: number[] = [];
    const sdkColdProcess: number[] = [];
    for (let i = 0; i < COLD_MESSAGES; i++) {
      sdkCold.push(await sdk.cold());
      sdkColdProcess.push(await sdk.coldProcess());
      await waitNoLiveRun(h);
      samples.push(await messageToModel(h, () => h.say(`cold message ${i}`)));
      await h.waitForReplies(i + 1);
    }
    return { samples, sdkCold, sdkColdProcess };
  } finally {
    await h.close();
  }
}

async function sandboxStart(runtime: SandboxRuntime, command: string[]): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SANDBOX_STARTS + 2; i++) {
    const t0 = performance.now();
    const handle = await runtime.start({
      name: `bench-${process.pid}-${command[0]}-${i}`,
      labels: { 'carapace.install': 'bench' },
      mounts: [],
      appDir: APP_ROOT,
      workdir: '/tmp',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      user: { uid: 1000, gid: 1000 },
      network: { mode: 'none' },
      limits: {},
      command,
    });
    handle.output.resume();
    await handle.exited;
    if (i >= 2) samples.push(performance.now() - t0); // two warm-up runs
  }
  return samples;
}

/**
 * Cost of the seccomp filter: bwrap start → exit of `true` with and without `--seccomp`, alternating, the same
 * argv otherwise (spawned directly, without the runtime's bookkeeping, so only the filter differs).
 */
async function seccompCost(): Promise<{ withFilter: ReturnType<typeof stats>; without: ReturnType<typeof stats> }> {
  const bin = findBwrap()!;
  const spec = {
    name: `bench-seccomp-${process.pid}`, labels: {}, mounts: [], workdir: '/tmp', env: { PATH: '/usr/bin:/bin' },
    user: { uid: 1000, gid: 1000 }, network: { mode: 'none' as const }, limits: {}, command: ['true'],
  };
  const args = bwrapArgs(spec);
  const at = args.indexOf('--seccomp');
  const variants = {
    withFilter: { args, data: bwrapFdData(spec, seccompProgram(seccompArch()!)) },
    without: { args: [...args.slice(0, at), ...args.slice(at + 2)], data: bwrapFdData(spec, Buffer.alloc(0)).slice(0, -1) },
  };
  const samples = { withFilter: [] as number[], without: [] as number[] };
  for (let i = 0; i < SANDBOX_STARTS + 2; i++) {
    for (const key of ['withFilter', 'without'] as const) {
      const t0 = performance.now();
      const child = await spawnBwrap({ bin, ...variants[key], user: spec.user, cgroups: [] });
      child.stdout!.resume();
      child.stderr!.resume();
      await new Promise((r) => child.on('close', r));
      if (i >= 2) samples[key].push(performance.now() - t0);
    }
  }
  return { withFilter: stats(samples.withFilter), without: stats(samples.without) };
}

function codeSize() {
  const count = (dir: string): { files: number; lines: number } => {
    let files = 0;
    let lines = 0;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        const sub = count(path);
        files += sub.files;
        lines += sub.lines;
      } else if (name.endsWith('.ts')) {
        files++;
        lines += readFileSync(path, 'utf8').split('\n').length;
      }
    }
    return { files, lines };
  };
  const src = join(ROOT, 'src');
  const parts = Object.fromEntries(
    readdirSync(src)
      .filter((d) => statSync(join(src, d)).isDirectory())
      .map((d) => [d, count(join(src, d))]),
  );
  return { total: count(src), parts };
}

function version(bin: string, args: string[]): string | undefined {
  try {
    return execFileSync(bin, args).toString().trim();
  } catch {
    return undefined;
  }
}

/** The backends asked for that work here, with their images built. */
async function availableRuntimes(state: string): Promise<SandboxRuntime[]> {
  const image = loadConfig({ ...process.env }, { requireCredentials: false }).image;
  const runtimes: SandboxRuntime[] = [];
  for (const kind of BACKENDS) {
    const rt = createRuntime(kind, { stateDir: join(state, kind), image });
    const a = await rt.available();
    if (!a.ok) {
      console.log(`${kind}: left out (${a.reason})`);
      continue;
    }
    await rt.prepare((line) => console.log(`[${kind}] ${line}`));
    runtimes.push(rt);
  }
  return runtimes;
}

function machineInfo() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    bwrap: version('bwrap', ['--version']),
    docker: version('docker', ['version', '--format', 'client {{.Client.Version}}, server {{.Server.Version}}']),
    podman: version('podman', ['--version']),
  };
}

/** One backend's section: sandbox start, host overhead warm and cold (with the SDK alone beside them), memory. */
async function benchBackend(rt: SandboxRuntime, sdk: SdkProbe) {
  const startTrue = stats(await sandboxStart(rt, ['true']));
  console.log(`${rt.kind}: sandbox start → exit, \`true\``, startTrue);
  const startNode = stats(await sandboxStart(rt, ['node', '-e', '0']));
  console.log(`${rt.kind}: sandbox start → exit, \`node -e 0\``, startNode);
  const seccomp = rt.kind === 'bwrap' ? await seccompCost() : undefined;
  if (seccomp) console.log('bwrap: start → exit of `true` with / without the seccomp filter (ms)', seccomp.withFilter, seccomp.without);
  const warmRun = await warmOverhead(rt, sdk);
  const warm = stats(warmRun.inbound);
  const outbound = stats(warmRun.outbound);
  console.log(`${rt.kind}: message → model request, warm (reused) sandbox (ms)`, warm);
  console.log(`${rt.kind}: model's last byte → reply at the chat client, warm (ms)`, outbound);
  console.log(`${rt.kind}: memory of one idle agent sandbox (MB RSS)`, warmRun.memory);
  const coldRun = await coldOverhead(rt, sdk);
  const cold = stats(coldRun.samples);
  console.log(`${rt.kind}: message → model request, cold sandbox (ms)`, cold);
  const sdkAlone = { warm: stats(warmRun.sdkWarm), cold: stats(coldRun.sdkCold), coldProcess: stats(coldRun.sdkColdProcess) };
  console.log(`${rt.kind}: beside it, the SDK alone warm / cold / cold as a fresh process (ms)`, sdkAlone.warm, sdkAlone.cold, sdkAlone.coldProcess);
  const section = {
    sandboxStart: { true: startTrue, node: startNode, ...(seccomp ? { seccompFilter: seccomp } : {}) },
    hostOverhead: { warm, cold, outboundWarm: outbound },
    sdkAlone,
    memory: warmRun.memory,
  };
  return { section, hostRssMb: warmRun.hostRssMb };
}

/** Sections that do not depend on the backend: the chat channels, the model proxy, the scheduler. */
async function hostSections(sdk: SdkProbe) {
  const channels = await channelSections();
  const modelProxy = await measureProxyOverhead();
  console.log('model proxy (its own process; p50 stream throughput proxied / direct, added ms)', modelProxy.headline, 'stream MB/s', modelProxy.longStream.throughputMBps);
  const secretSubstitution = await measureSecretSubstitution();
  console.log('secret substitution, added per request (ms)', secretSubstitution.addedMs);
  const sdkFirstTurns: number[] = [];
  for (let i = 0; i < COLD_MESSAGES; i++) sdkFirstTurns.push(await sdk.prestarted());
  const lateness = await schedulerLateness({ occurrences: TASK_OCCURRENCES, tasksInStore: 1000, spacingMs: 1500, groups: 4 });
  const { tasksInStore, occurrences, spacingMs, groups } = lateness;
  const scheduler = {
    ...{ tasksInStore, occurrences, spacingMs, groups, preStarted: lateness.preStarted },
    dueToClaim: stats(lateness.dueToClaim),
    dueToModelRequest: stats(lateness.dueToModel),
    sdkAloneFirstTurnPrestarted: stats(sdkFirstTurns),
    note: 'isolated tasks on bwrap, each in a sandbox started ahead of its due time when a slot was free (preStarted), claimed 1 s ahead (dueToClaim < 0) with the model call held until due; target p95 ≤ 100 ms',
  };
  console.log('scheduled task due → claimed (ms)', scheduler.dueToClaim);
  console.log(`scheduled task due → model request, ${lateness.preStarted} of ${occurrences} pre-started (ms)`, scheduler.dueToModelRequest);
  const safeWrite = await measureSafeWrite(SAFE_WRITE_FILES);
  console.log('host write into an agent tree, 1 KB at depth 2 (ms): safe', safeWrite.safe, 'plain', safeWrite.plainWriteFileSync);
  const scale = await scaleBench({ messages: [10, 1000, 100_000], groups: [1, 10, 100], samples: SCALE_SAMPLES });
  console.log('scale: worst p50 vs the smallest case', scale.worstP50VsSmallest);
  const memory = await hostMemory({ groups: MEMORY_GROUPS, soakSeconds: SOAK_SECONDS });
  console.log('host memory, measured alone (MB RSS)', memory);
  const approvals = await approvalCardLatency();
  console.log('egress request held → approval card at the chat (ms)', approvals.heldToCardMs);
  return { channels, modelProxy, secretSubstitution, scheduler, safeWrite, scale, memory, approvals };
}

async function main() {
  const runtimes = await availableRuntimes(sandboxReadableTempDir('carapace-bench-'));
  const machine = machineInfo();
  console.log('machine', machine);
  const sdk = await openSdkProbe();
  const backends: Record<string, any> = {};
  let hostRssMb = 0;
  for (const rt of runtimes) {
    const run = await benchBackend(rt, sdk);
    backends[rt.kind] = run.section;
    if (rt.kind === 'bwrap') hostRssMb = run.hostRssMb;
  }
  console.log('host process RSS after the bwrap warm run (MB; bench, fake API and host in one process)', hostRssMb);
  const { channels, modelProxy, secretSubstitution, scheduler, safeWrite, scale, memory, approvals } = await hostSections(sdk);
  await sdk.close();
  const ratios = speedRatios(backends, modelProxy.longStream.throughputMBps, scheduler);
  console.log('Carapace over the SDK alone (p50 ratios)', ratios.carapaceOverSdk, 'proxy stream throughput vs direct', ratios.proxyStreamThroughput);
  console.log('scheduled task due → model request over the SDK\'s first turn into a pre-started process', ratios.scheduledOverSdkFirstTurn);
  const size = codeSize();
  console.log('source size', size.total, size.parts);
  const date = new Date().toISOString();
  const hostOverhead = { channelsWarm: channels, target: 'warm p50 < 50 ms, each channel within 5 ms of the local chat (backends.bwrap.hostOverhead.warm)' };
  const result = { date, machine, unit: 'ms', ratios, backends, hostOverhead, hostRssMb, hostMemory: memory, scale, modelProxy, secretSubstitution, schedulerLateness: scheduler, safeWrite, approvals, sourceSize: size };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `foundation-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${file}`);
}

await main();
