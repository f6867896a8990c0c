// Docker sandboxes of one group share a loopback-only network namespace held by an idle container, so a start
// skips the engine's namespace setup (src/sandbox/shared-netns.ts). Real docker, the real agent image: sandboxes of
// one share see the same namespace and nothing but `lo`; another group's sandbox cannot reach their loopback; a
// holder removed from outside costs one failed start, not every later one; holders are capped, left out of
// listings, removed on close and by orphan cleanup.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../src/sandbox/docker.js';
import type { SandboxHandle, SandboxSpec } from '../src/sandbox/runtime.js';
import { createRuntime } from '../src/sandbox/select.js';
import { SharedNetworks } from '../src/sandbox/shared-netns.js';
import { testImageConfig, usableForTests } from './support/usable-engines.js';

const install = `netns-test-${process.pid}`;
const labels = { 'carapace.install': install };
const stateDir = mkdtempSync(join(tmpdir(), 'carapace-netns-'));
const docker = createRuntime('docker', { stateDir, image: testImageConfig }) as DockerRuntime;
const availability = await usableForTests(docker);
if (!availability.ok) console.warn(`[docker-shared-netns] docker excluded on this machine: ${availability.reason}`);

let n = 0;
const spec = (key: string, script: string): SandboxSpec => ({
  name: `netns-test-${process.pid}-${n++}`,
  labels: { ...labels, 'carapace.group': key },
  mounts: [],
  workdir: '/tmp',
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  user: { uid: 1000, gid: 1000 },
  network: { mode: 'none', share: { key, labels } },
  limits: {},
  command: ['sh', '-c', script],
});

/** Everything the sandbox printed, and how it ended. */
async function finish(h: SandboxHandle): Promise<{ out: string; code: number | null }> {
  let out = '';
  h.output.on('data', (d: Buffer) => (out += d));
  const exit = await h.exited;
  return { out: out.trim(), code: exit.code };
}
const run = async (rt: DockerRuntime, key: string, script: string) => finish(await rt.start(spec(key, script)));

/** Containers of this test's install: name → running. */
const containers = () =>
  execFileSync('docker', ['ps', '-a', '--filter', `label=carapace.install=${install}`, '--format', '{{.Names}} {{.State}}'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
const holderOf = (key: string) => SharedNetworks.holderName({ key, labels });

// The namespace's inode, its interfaces, the hostname.
const IDENTITY = 'readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,; echo; hostname';

describe.runIf(availability.ok)('docker: sandboxes of one group share a loopback-only network namespace', () => {
  beforeAll(async () => {
    await docker.prepare((line) => console.log(`[docker image] ${line}`));
  }, 600_000);
  afterAll(async () => {
    await docker.close();
    await docker.cleanupOrphans(labels);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('one group: the same namespace, only lo; another group: its own, which cannot reach the first one’s loopback', async () => {
    // A server on alpha's loopback, alive while the other sandboxes look for it.
    const server = await docker.start(spec('alpha', `node -e "require('net').createServer((s) => s.end('hello from alpha')).listen(4567, '127.0.0.1', () => console.log('listening'))"`));
    let serverOut = '';
    const listening = new Promise<void>((resolve) => server.output.on('data', (d: Buffer) => (serverOut += d).includes('listening') && resolve()));
    await listening;
    const connect = `node -e "require('net').connect(4567, '127.0.0.1').on('data', (d) => console.log(String(d))).on('error', (e) => console.log(e.code))"`;
    const [a, b, sameGroup, otherGroup] = await Promise.all([
      run(docker, 'alpha', IDENTITY),
      run(docker, 'beta', IDENTITY),
      run(docker, 'alpha', connect),
      run(docker, 'beta', connect),
    ]);
    await server.stop(500);
    const [nsA, ifacesA, hostA] = a.out.split('\n');
    const [nsB, ifacesB, hostB] = b.out.split('\n');
    expect([ifacesA, hostA, ifacesB, hostB]).toEqual(['lo,', 'sandbox', 'lo,', 'sandbox']);
    expect(nsA).toMatch(/^net:\[\d+\]$/);
    expect(nsB).not.toBe(nsA);
    expect(sameGroup.out).toBe('hello from alpha');
    expect(otherGroup.out).toBe('ECONNREFUSED');
    // The holders run; listings of sandboxes leave them out.
    expect(containers()).toEqual(expect.arrayContaining([`${holderOf('alpha')} running`, `${holderOf('beta')} running`]));
    expect(await docker.list(labels)).toEqual([]);
  }, 120_000);

  it('a holder removed from outside fails one start; the next one starts a new holder', async () => {
    const holderId = () => execFileSync('docker', ['inspect', '--format', '{{.Id}}', holderOf('alpha')], { encoding: 'utf8' }).trim();
    expect((await run(docker, 'alpha', 'echo ran')).out).toBe('ran');
    const before = holderId();
    execFileSync('docker', ['rm', '-f', holderOf('alpha')]);
    const failed = await run(docker, 'alpha', 'echo ran');
    expect(failed.code).not.toBe(0);
    expect(failed.out).not.toContain('ran');
    expect(await run(docker, 'alpha', 'echo ran')).toEqual({ out: 'ran', code: 0 });
    expect(holderId()).not.toBe(before);
  }, 120_000);

  it('keeps at most the cap of idle holders, removes its own on close, and orphan cleanup removes a crashed one’s', async () => {
    const capped = new DockerRuntime({ stateDir, image: testImageConfig, maxSharedNetworks: 1 });
    await capped.prepare();
    expect((await run(capped, 'gamma', 'echo ok')).out).toBe('ok');
    expect((await run(capped, 'delta', 'echo ok')).out).toBe('ok');
    const holders = () => containers().filter((c) => c.startsWith('carapace-netns-'));
    await expect.poll(holders).not.toContain(`${holderOf('gamma')} running`);
    expect(holders()).toContain(`${holderOf('delta')} running`);
    await capped.close();
    expect(holders()).not.toContain(`${holderOf('delta')} running`);
    // A crashed process's holders (alpha's, beta's from above) are orphans to the next one.
    const fresh = createRuntime('docker', { stateDir, image: testImageConfig });
    expect(await fresh.cleanupOrphans(labels)).toBe(2);
    expect(containers()).toEqual([]);
  }, 120_000);
});
