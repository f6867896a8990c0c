// Model proxy overhead: the same fake API, called directly and through the path a sandbox uses (loopback bridge →
// Unix socket → model proxy with token check, credential swap and usage metering), calls interleaved so both see
// the same machine noise. The fake API and the proxy run in processes of their own, as the API and the host do
// (bench/proxy-processes.ts); the bridge and the client here, as in a sandbox. The headline is the long stream's
// p50 throughput proxied / direct; the proxy's own CPU per stream is reported too, since a saturating stream's
// throughput also depends on the client (through the proxy it gets one HTTP chunk per socket read, directly one
// per SSE event). Run alone with `npm run bench:proxy`, or as part of `npm run bench`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startSocketBridge } from '../src/runner/socket-bridge.js';
import { ask, startChild } from './proxy-processes.js';
import { stats as percentiles } from './stats.js';

const CALLS = Number(process.env.BENCH_PROXY_CALLS ?? 200);
const STREAM_CALLS = Number(process.env.BENCH_PROXY_STREAMS ?? 40);
const REPLY_CHARS = 2_000; // a typical short answer: 125 text deltas
const LONG_REPLY_CHARS = 1_000_000; // ~250k tokens in 62,500 deltas, for streaming throughput
const TOKEN = 'bench-run-token';

interface Sample {
  firstByteMs: number;
  totalMs: number;
  bytes: number;
}

/** One streamed /v1/messages call with a request body the size the CLI sends (~30 KB). */
function call(base: string, agent: Agent, body: string): Promise<Sample> {
  const url = new URL('/v1/messages?beta=true', base);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let bytes = 0;
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': TOKEN } }, (res) => {
      res.on('data', (c: Buffer) => {
        if (!first) first = performance.now();
        bytes += c.length;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ firstByteMs: first - t0, totalMs: performance.now() - t0, bytes }) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const stats = (samples: number[]) => percentiles(samples, 3);

type Path = { base: string; agent: Agent };
/** Direct and proxied samples, index i of each taken back to back. */
type Pairs = { d: Sample[]; p: Sample[] };

/** `calls` calls on each path, alternating which goes first so neither always runs on a just-warmed machine. */
async function pairedCalls(direct: Path, proxied: Path, body: string, calls: number): Promise<Pairs> {
  const d: Sample[] = [];
  const p: Sample[] = [];
  for (let i = 0; i < calls + 5; i++) {
    const [first, second] = i % 2 === 0 ? [direct, proxied] : [proxied, direct];
    const a = await call(first.base, first.agent, body);
    const b = await call(second.base, second.agent, body);
    if (i < 5) continue; // warm-up: connections, JIT
    d.push(first === direct ? a : b);
    p.push(first === direct ? b : a);
  }
  return { d, p };
}

const mbps = (x: Sample) => x.bytes / 1e6 / (x.totalMs / 1000);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/**
 * The headline: p50 streaming throughput through the proxy over p50 direct (target ≥ 0.9), the same ratio taken
 * per interleaved pair (steadier when the machine's load drifts), and what the proxy adds to a short call.
 */
function headline(short: Pairs, streams: Pairs) {
  const p50 = (xs: number[]) => stats(xs).p50;
  return {
    streamThroughputRatio: ratio(p50(streams.p.map(mbps)), p50(streams.d.map(mbps))),
    streamThroughputRatioPairedP50: p50(streams.p.map((s, i) => mbps(s) / mbps(streams.d[i]))),
    addedFirstByteMsP50: p50(short.p.map((s, i) => s.firstByteMs - short.d[i].firstByteMs)),
    addedPerCallMsP50: p50(short.p.map((s, i) => s.totalMs - short.d[i].totalMs)),
    target: 'streamThroughputRatio ≥ 0.9',
  };
}

/** Per-path figures of a set of paired calls. */
function figures(pairs: Pairs) {
  const both = (of: (s: Sample) => number) => ({ direct: stats(pairs.d.map(of)), proxied: stats(pairs.p.map(of)) });
  return { firstByteMs: both((s) => s.firstByteMs), totalMs: both((s) => s.totalMs) };
}

function report(body: string, short: Pairs, streams: Pairs, proxy: { meteredCalls: number; cpuMsPerStream: number }) {
  const streamBytes = streams.d[0].bytes;
  return {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    headline: headline(short, streams),
    requestBodyBytes: body.length,
    shortReply: { chars: REPLY_CHARS, ...figures(short), addedPerCallMs: stats(short.p.map((s, i) => s.totalMs - short.d[i].totalMs)) },
    longStream: {
      chars: LONG_REPLY_CHARS,
      streamBytes,
      ...figures(streams),
      throughputMBps: { direct: stats(streams.d.map(mbps)), proxied: stats(streams.p.map(mbps)) },
      outputTokensPerSec: { direct: stats(streams.d.map((x) => LONG_REPLY_CHARS / 4 / (x.totalMs / 1000))), proxied: stats(streams.p.map((x) => LONG_REPLY_CHARS / 4 / (x.totalMs / 1000))) },
      // The proxy process's own CPU per proxied stream: what forwarding and metering cost, whatever the load.
      proxyCpuMsPerStream: Math.round(proxy.cpuMsPerStream * 10) / 10,
      proxyCpuMBps: Math.round(streamBytes / 1e6 / (proxy.cpuMsPerStream / 1000)),
    },
    meteredCalls: proxy.meteredCalls,
  };
}

export async function measureProxyOverhead() {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-bench-proxy-'));
  const socket = join(dir, 'model.sock');
  const fake = await startChild(['upstream', String(REPLY_CHARS), String(LONG_REPLY_CHARS)]);
  const proxy = await startChild(['proxy', socket, fake.first, TOKEN]);
  const bridge = await startSocketBridge(socket);
  const body = JSON.stringify({
    model: 'claude-bench',
    stream: true,
    max_tokens: 32000,
    tools: [{ name: 'Bash', description: 'd'.repeat(12_000) }],
    messages: [{ role: 'user', content: 'u'.repeat(18_000) }],
  });
  const direct = { base: fake.first, agent: new Agent({ keepAlive: true }) };
  const proxied = { base: bridge.url, agent: new Agent({ keepAlive: true }) };
  try {
    const short = await pairedCalls(direct, proxied, body, CALLS);
    await ask(fake.child, 'long');
    const cpuBefore = Number(await ask(proxy.child, 'cpu'));
    const streams = await pairedCalls(direct, proxied, body, STREAM_CALLS);
    const cpuMsPerStream = (Number(await ask(proxy.child, 'cpu')) - cpuBefore) / (STREAM_CALLS + 5); // warm-ups included
    return report(body, short, streams, { meteredCalls: Number(await ask(proxy.child, 'count')), cpuMsPerStream });
  } finally {
    direct.agent.destroy();
    proxied.agent.destroy();
    bridge.close();
    proxy.child.kill();
    fake.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = { date: new Date().toISOString(), unit: 'ms unless named', ...(await measureProxyOverhead()) };
  console.log(JSON.stringify(result, null, 2));
  console.log('headline', result.headline, 'proxy CPU per stream (ms)', result.longStream.proxyCpuMsPerStream);
  const out = join(fileURLToPath(new URL('../../', import.meta.url)), 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `proxy-${result.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${file}`);
}
