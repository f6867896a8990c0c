// `npm run bench`: per sandbox backend available here (bwrap, docker, podman), side by side in one run: sandbox
// cold start, host overhead per message with a warm (reused) and a cold sandbox, per-sandbox memory, plus the
// host core size. Results go to bench/results/; docs/runtimes.md has the table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_ROOT } from '../src/app-root.js';
import { loadConfig } from '../src/config.js';
import type { RuntimeKind, SandboxRuntime } from '../src/sandbox/runtime.js';
import { createRuntime, usesImage } from '../src/sandbox/select.js';
import { sandboxReadableTempDir, startHarness, type Harness } from '../test/support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WARM_MESSAGES = Number(process.env.BENCH_WARM ?? 60);
const COLD_MESSAGES = Number(process.env.BENCH_COLD ?? 30);
const SANDBOX_STARTS = Number(process.env.BENCH_STARTS ?? 30);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'bwrap,docker,podman').split(',') as RuntimeKind[];

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(at(0.5)), p95: r(at(0.95)), min: r(s[0]), max: r(s.at(-1)!) };
}

/** Time from "the owner sent a message" to "the model API received the agent's request". */
async function messageToModel(h: Harness, text: string): Promise<number> {
  const arrived = new Promise<number>((resolve) => {
    const off = h.fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      off();
      resolve(r.receivedAt);
    });
  });
  const t0 = performance.now();
  await h.say(text);
  return (await arrived) - t0;
}

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
 * engines the attached CLI client, the containerd shim and the init inside). RSS counts shared pages in full.
 */
function sandboxMemory(rt: SandboxRuntime, sandbox: { name: string; pid?: number }) {
  let agent: number[];
  let overhead: number[];
  if (usesImage(rt)) {
    // Host pids of the container's processes (podman's `top` runs ps inside unless asked for hpid).
    const topArgs = rt.kind === 'podman' ? ['top', sandbox.name, 'hpid'] : ['top', sandbox.name, '-eo', 'pid'];
    const top = execFileSync(rt.cli.bin, topArgs).toString().trim().split('\n').slice(1).map(Number);
    const init = top[0];
    const shim = Number(readFileSync(`/proc/${init}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
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

async function warmOverhead(rt: SandboxRuntime) {
  const h = await startHarness({ runtime: rt, env: { LOG_LEVEL: 'warn' } });
  try {
    await h.say('warm up');
    await h.waitForReplies(1);
    const samples: number[] = [];
    for (let i = 0; i < WARM_MESSAGES; i++) {
      samples.push(await messageToModel(h, `warm message ${i}`));
      await h.waitForReplies(i + 2);
    }
    const [live] = await rt.list({ 'carapace.group': 'main' });
    return { samples: samples.slice(5), memory: sandboxMemory(rt, live) }; // first turns of a fresh CLI warm its caches
  } finally {
    await h.close();
  }
}

async function coldOverhead(rt: SandboxRuntime): Promise<number[]> {
  // A tiny idle timeout makes every message find no live sandbox.
  const h = await startHarness({ runtime: rt, env: { CARAPACE_IDLE_TIMEOUT_MS: '100' } });
  try {
    const samples: number[] = [];
    for (let i = 0; i < COLD_MESSAGES; i++) {
      await waitNoLiveRun(h);
      samples.push(await messageToModel(h, `cold message ${i}`));
      await h.waitForReplies(i + 1);
    }
    return samples;
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

async function main() {
  const image = loadConfig({ ...process.env }, { requireCredentials: false }).image;
  const state = sandboxReadableTempDir('carapace-bench-');
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
  const version = (bin: string, args: string[]) => {
    try {
      return execFileSync(bin, args).toString().trim();
    } catch {
      return undefined;
    }
  };
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    bwrap: version('bwrap', ['--version']),
    docker: version('docker', ['version', '--format', 'client {{.Client.Version}}, server {{.Server.Version}}']),
    podman: version('podman', ['--version']),
  };
  console.log('machine', machine);

  const backends: Record<string, unknown> = {};
  for (const rt of runtimes) {
    const startTrue = stats(await sandboxStart(rt, ['true']));
    console.log(`${rt.kind}: sandbox start → exit, \`true\``, startTrue);
    const startNode = stats(await sandboxStart(rt, ['node', '-e', '0']));
    console.log(`${rt.kind}: sandbox start → exit, \`node -e 0\``, startNode);
    const warmRun = await warmOverhead(rt);
    const warm = stats(warmRun.samples);
    console.log(`${rt.kind}: message → model request, warm (reused) sandbox (ms)`, warm);
    console.log(`${rt.kind}: memory of one idle agent sandbox (MB RSS)`, warmRun.memory);
    const cold = stats(await coldOverhead(rt));
    console.log(`${rt.kind}: message → model request, cold sandbox (ms)`, cold);
    backends[rt.kind] = { sandboxStart: { true: startTrue, node: startNode }, messageToModel: { warm, cold }, memory: warmRun.memory };
  }
  const size = codeSize();
  console.log('source size', size.total, size.parts);

  const result = {
    date: new Date().toISOString(),
    machine,
    unit: 'ms',
    backends,
    target: 'warm message → model p50 < 50 ms',
    sourceSize: size,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `runtimes-${result.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${file}`);
}

await main();
