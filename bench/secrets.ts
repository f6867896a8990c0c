// What secret substitution costs per request: the same HTTPS request to a local upstream through the egress
// proxy, once to a host with a granted secret (TLS ended at the proxy, the placeholder swapped, a fresh verified
// TLS connection upstream, the answer redacted) and once to a host without (CONNECT tunnel, untouched), each on a
// fresh connection as a `curl` in the sandbox makes, interleaved so both see the same machine noise.
// Run alone with `node dist/bench/secrets.js` after a build, or as part of `npm run bench`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { parseAllowlist } from '../src/boundary/egress-policy.js';
import { startEgressProxy } from '../src/boundary/egress-proxy.js';
import { interceptCa } from '../src/boundary/intercept-ca.js';
import { createInterceptor } from '../src/boundary/tls-intercept.js';
import { requestViaProxy, startHttpsUpstream } from '../test/support/https-upstream.js';
import { stats } from './stats.js';

const REQUESTS = Number(process.env.BENCH_SECRET_REQUESTS ?? 200);
const WARMUP = 10;

export async function measureSecretSubstitution(requests = REQUESTS) {
  const up = await startHttpsUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'carapace-bench-secrets-'));
  const ca = interceptCa(join(dir, 'vault'));
  const secret = { name: 'github', host: `api.github.test:${up.port}`, header: 'authorization', format: 'Bearer {}', env: 'GITHUB_TOKEN', value: 'ghp_bench0123456789' };
  const log = pino({ level: 'silent' });
  const socket = join(dir, 'egress.sock');
  const proxy = await startEgressProxy({
    socketPath: socket,
    rules: () => parseAllowlist([`api.github.test:${up.port}`, `plain.test:${up.port}`]),
    privateAllow: [`127.0.0.1:${up.port}`],
    lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    log,
    intercept: createInterceptor({ secrets: () => [secret], ca, upstreamCa: up.caPem, log }),
  });
  const trust = [ca.trustBundle, up.caPem];
  const once = async (host: string) => {
    const t0 = performance.now();
    const a = await requestViaProxy(socket, host, up.port, trust, (authority) =>
      `GET /user HTTP/1.1\r\nhost: ${authority}\r\nauthorization: Bearer carapace:secret:github\r\nconnection: close\r\n\r\n`,
    );
    if (a.status !== 200) throw new Error(`${host}: HTTP ${a.status} ${a.body}`);
    return performance.now() - t0;
  };
  const tunnelled: number[] = [];
  const intercepted: number[] = [];
  try {
    for (let i = 0; i < requests + WARMUP; i++) {
      const order = i % 2 === 0 ? (['plain.test', 'api.github.test'] as const) : (['api.github.test', 'plain.test'] as const);
      const times = { 'plain.test': 0, 'api.github.test': 0 };
      for (const host of order) times[host] = await once(host);
      if (i < WARMUP) continue; // warm-up: JIT, the leaf certificate
      tunnelled.push(times['plain.test']);
      intercepted.push(times['api.github.test']);
    }
  } finally {
    await proxy.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    requests,
    note: 'a fresh client connection per request (CONNECT + TLS + one GET) to a local upstream; intercepted adds a TLS termination, the check and swap, and the upstream leg (kept alive)',
    tunnelledMs: stats(tunnelled, 3),
    interceptedMs: stats(intercepted, 3),
    addedMs: stats(intercepted.map((t, i) => t - tunnelled[i]), 3),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(JSON.stringify(await measureSecretSubstitution(), null, 2));
