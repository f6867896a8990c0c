// Docker, Podman and Apple Container argv builders and engine plumbing, checked without (or beside) the engines.
// Podman and Apple Container do not run on this machine: their argv is pinned here, and Apple's availability
// check and command sequence are driven through a stand-in `container` CLI that answers like the real one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppleRuntime, appleCreateArgs, parseAppleList } from '../src/sandbox/apple.js';
import { DockerRuntime, dockerCreateArgs, ownRlimits, parseLabelList, podmanExtraArgs } from '../src/sandbox/docker.js';
import { exitFromCode, type CreateContext } from '../src/sandbox/engine.js';
import type { SandboxSpec } from '../src/sandbox/runtime.js';
import { checkSpec } from '../src/sandbox/spec.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-engines-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const spec = (extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
  name: 'carapace-main-r1',
  labels: { 'carapace.install': 'i1', 'carapace.group': 'main' },
  mounts: [
    { host: '/data/groups/main', sandbox: '/workspace/group', readonly: false },
    { host: '/tmp/c/r1.sock', sandbox: '/run/carapace/model.sock', readonly: true },
  ],
  appDir: '/proj',
  workdir: '/workspace/group',
  env: { HOME: '/home/agent', TZ: 'UTC' },
  user: { uid: 1000, gid: 1000 },
  network: { mode: 'none' },
  limits: { memoryMb: 512, pids: 256, cpus: 1.5, wallClockMs: 60_000 },
  command: ['node', '/app/dist/src/runner/main.js'],
  ...extra,
});
const ctx: CreateContext = {
  image: 'carapace-agent:abc',
  user: { uid: 1000, gid: 1000 },
  passwd: '/data/sandboxes/docker/x/passwd',
  group: '/data/sandboxes/docker/x/group',
  dir: '/data/sandboxes/docker/x',
};
/** The value following `flag` each time it occurs. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('docker create argv', () => {
  const args = dockerCreateArgs(spec(), ctx);

  it('is hardened: no network, no capabilities, no privilege gain, read-only root, init, non-root user', () => {
    expect(args.slice(0, 3)).toEqual(['create', '--name', 'carapace-main-r1']);
    expect(values(args, '--network')).toEqual(['none']);
    expect(values(args, '--cap-drop')).toEqual(['ALL']);
    expect(values(args, '--security-opt')).toEqual(['no-new-privileges']);
    expect(args).toContain('--read-only');
    expect(args).toContain('--init');
    expect(values(args, '--user')).toEqual(['1000:1000']);
    expect(values(args, '--tmpfs')).toEqual(['/tmp:rw,nosuid,nodev,mode=1777', '/home/agent:rw,nosuid,nodev,mode=0700,uid=1000,gid=1000']);
  });

  it('joins a holder’s loopback-only namespace when given one, which then carries the hostname; hardened all the same', () => {
    const joined = dockerCreateArgs(spec(), { ...ctx, joinNetworkOf: 'carapace-netns-0123' });
    expect(values(joined, '--network')).toEqual(['container:carapace-netns-0123']);
    expect(joined).not.toContain('--hostname'); // docker refuses a hostname with a joined namespace
    expect(values(args, '--hostname')).toEqual(['sandbox']);
    const rest = (a: string[]) => a.filter((x, i) => !['--network', '--hostname'].includes(x) && !['--network', '--hostname'].includes(a[i - 1]));
    expect(rest(joined)).toEqual(rest(args));
  });

  it('refuses a network share whose key or labels an engine could not carry', () => {
    expect(() => checkSpec(spec({ network: { mode: 'none', share: { key: 'a/b', labels: { 'carapace.install': 'i1' } } } }))).toThrow(/network share/);
    expect(() => checkSpec(spec({ network: { mode: 'none', share: { key: 'main', labels: {} } } }))).toThrow(/network share/);
    expect(() => checkSpec(spec({ network: { mode: 'none', share: { key: 'main', labels: { 'carapace.install': 'a,b=c' } } } }))).toThrow(/bad label/);
  });

  it('labels the container for orphan cleanup and sets every limit', () => {
    expect(values(args, '--label')).toEqual(['carapace.install=i1', 'carapace.group=main']);
    expect(values(args, '--memory')).toEqual(['512m']);
    expect(values(args, '--memory-swap')).toEqual(['512m']);
    expect(values(args, '--pids-limit')).toEqual(['256']);
    expect(values(args, '--cpus')).toEqual(['1.5']);
  });

  it('mounts only the spec (the image carries /app), the user database read-only, and passes only the given env', () => {
    expect(values(args, '--mount')).toEqual([
      'type=bind,src=/data/sandboxes/docker/x/passwd,dst=/etc/passwd,readonly',
      'type=bind,src=/data/sandboxes/docker/x/group,dst=/etc/group,readonly',
      'type=bind,src=/data/groups/main,dst=/workspace/group',
      'type=bind,src=/tmp/c/r1.sock,dst=/run/carapace/model.sock,readonly',
    ]);
    expect(args.join(' ')).not.toContain('/proj');
    expect(values(args, '--env')).toEqual(['HOME=/home/agent', 'TZ=UTC']);
    expect(args.slice(-3)).toEqual(['carapace-agent:abc', 'node', '/app/dist/src/runner/main.js']);
  });

  it('omits limits that are not set, and refuses paths its --mount syntax cannot carry', () => {
    const bare = dockerCreateArgs(spec({ limits: {} }), ctx);
    for (const f of ['--memory', '--pids-limit', '--cpus']) expect(bare).not.toContain(f);
    expect(() => dockerCreateArgs(spec({ mounts: [{ host: '/a,b', sandbox: '/x', readonly: true }] }), ctx)).toThrow(/cannot express/);
  });
});

describe('podman flags', () => {
  const limits = ownRlimits('Limit                     Soft Limit           Hard Limit           Units\nMax processes             96365                96365                processes\nMax open files            1024                 20000                files\n');

  it('pin nofile at our own hard limit and nproc within conmon’s, so podman never asks for more than it may', () => {
    expect(limits).toEqual({ 'Max processes': [96365, 96365], 'Max open files': [1024, 20000] });
    expect(podmanExtraArgs(false, limits)).toEqual(['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768']);
    expect(podmanExtraArgs(false, { 'Max processes': [4096, 4096] })).toEqual(['--ulimit', 'nproc=4096:4096']);
  });

  it('keep the invoking user itself inside when rootless', () => {
    expect(podmanExtraArgs(true, { 'Max open files': [-1, -1] })).toEqual(['--userns', 'keep-id', '--ulimit', 'nproc=32768:32768']);
  });

  it('go right before the image in the create argv, whose home tmpfs podman chowns with U', () => {
    const args = dockerCreateArgs(spec(), ctx, podmanExtraArgs(true, limits));
    const at = args.indexOf('carapace-agent:abc');
    expect(args.slice(at - 6, at)).toEqual(['--userns', 'keep-id', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768']);
    expect(values(args, '--tmpfs')[1]).toBe('/home/agent:rw,nosuid,nodev,mode=0700,U');
  });
});

describe('apple container create argv', () => {
  const args = appleCreateArgs(spec(), ctx);

  it('maps the hardened set onto the container CLI', () => {
    expect(args.slice(0, 4)).toEqual(['create', '--rm', '--name', 'carapace-main-r1']);
    expect(values(args, '--network')).toEqual(['none']);
    expect(values(args, '--cap-drop')).toEqual(['ALL']);
    expect(args).toContain('--read-only');
    expect(args).toContain('--init');
    expect(values(args, '--user')).toEqual(['1000:1000']);
    expect(values(args, '--label')).toEqual(['carapace.install=i1', 'carapace.group=main']);
    expect(args).not.toContain('--security-opt'); // does not exist there; the VM is the boundary
  });

  it('uses -v for every mount (the only form that relays a Unix socket) with home and /tmp from the state dir', () => {
    expect(values(args, '-v')).toEqual([
      '/data/sandboxes/docker/x/tmp:/tmp',
      '/data/sandboxes/docker/x/home:/home/agent',
      '/data/sandboxes/docker/x/passwd:/etc/passwd:ro',
      '/data/sandboxes/docker/x/group:/etc/group:ro',
      '/data/groups/main:/workspace/group',
      '/tmp/c/r1.sock:/run/carapace/model.sock:ro',
    ]);
    expect(args).not.toContain('--mount');
    expect(() => appleCreateArgs(spec({ mounts: [{ host: '/a:b', sandbox: '/x', readonly: true }] }), ctx)).toThrow(/cannot express/);
  });

  it('sizes the VM (whole CPUs) and caps processes with RLIMIT_NPROC', () => {
    expect(values(args, '--memory')).toEqual(['512M']);
    expect(values(args, '--cpus')).toEqual(['2']);
    expect(values(args, '--ulimit')).toEqual(['nproc=256:256']);
    expect(values(args, '--workdir')).toEqual(['/workspace/group']);
    expect(args.slice(-3)).toEqual(['carapace-agent:abc', 'node', '/app/dist/src/runner/main.js']);
  });
});

describe('engine output parsing', () => {
  it('reads docker ps label lists and apple list JSON of either status shape', () => {
    expect(parseLabelList('carapace.group=main,carapace.install=i1')).toEqual({ 'carapace.group': 'main', 'carapace.install': 'i1' });
    expect(parseLabelList('')).toEqual({});
    const list = JSON.stringify([
      { configuration: { id: 'a', labels: { x: '1' } }, status: 'running' },
      { configuration: { id: 'b', labels: {} }, status: { state: 'stopped' } },
    ]);
    expect(parseAppleList(list)).toEqual([
      { name: 'a', labels: { x: '1' }, running: true },
      { name: 'b', labels: {}, running: false },
    ]);
  });

  it('turns exit codes above 128 into the signal that ended the container', () => {
    expect(exitFromCode(137)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(exitFromCode(143)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(exitFromCode(3)).toEqual({ code: 3, signal: null });
    expect(exitFromCode(null)).toEqual({ code: null, signal: null });
  });
});

/** A stand-in `container` CLI: logs each call, answers like Apple's. */
function fakeContainerCli(version: string, systemOk = true): { bin: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
  const log = path.join(dir, 'calls.log');
  const bin = path.join(dir, 'container');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
echo "$*" >> ${log}
case "$1" in
  --version) echo "container CLI version ${version} (build: release, commit: 0000000)";;
  system) ${systemOk ? 'echo "apiserver is running"' : 'echo "apiserver is not running" >&2; exit 1'};;
  image) exit 0;;
  create) exit 0;;
  start) echo "hello from the vm"; exit 7;;
  list) echo '[]';;
esac
`,
    { mode: 0o755 },
  );
  return { bin, calls: () => fs.readFileSync(log, 'utf8').trim().split('\n') };
}

describe('AppleRuntime', () => {
  const mac = { platform: 'darwin', arch: 'arm64', release: '25.1.0' };
  const make = (bin: string, host = mac) =>
    new AppleRuntime({ bin, host, stateDir: path.join(tmp, 'state'), image: { base: 'b', chromium: false } });

  it('is available only on macOS 26+ on Apple silicon with container ≥ 1.1.0 running', async () => {
    const good = fakeContainerCli('1.2.0');
    expect(await make(good.bin).available()).toEqual({ ok: true });
    expect(good.calls()).toEqual(['--version', 'system status']);
    const reason = async (rt: AppleRuntime) => ((await rt.available()) as { reason: string }).reason;
    expect(await reason(make(good.bin, { ...mac, platform: 'linux' }))).toMatch(/only on macOS 26\+ on Apple silicon/);
    expect(await reason(make(good.bin, { ...mac, arch: 'x64' }))).toMatch(/Apple silicon/);
    expect(await reason(make(good.bin, { ...mac, release: '24.6.0' }))).toMatch(/macOS 26 or later/);
    expect(await reason(make(fakeContainerCli('1.0.3').bin))).toMatch(/1\.0\.3 is too old: 1\.1\.0\+/);
    expect(await reason(make(fakeContainerCli('1.1.0', false).bin))).toMatch(/container system start/);
    expect(await reason(make(path.join(tmp, 'no-such-cli')))).toMatch(/not installed.*github\.com\/apple\/container\/releases/);
  });

  it('creates, attaches and cleans up a sandbox through the CLI', async () => {
    const cli = fakeContainerCli('1.2.0');
    const rt = make(cli.bin);
    const ws = fs.mkdtempSync(path.join(tmp, 'ws-'));
    const h = await rt.start({ ...spec({ mounts: [{ host: ws, sandbox: '/workspace', readonly: false }], limits: {} }), name: 'apple-t1' });
    let out = '';
    h.output.on('data', (d: Buffer) => (out += d));
    expect(await h.exited).toEqual({ code: 7, signal: null });
    expect(out).toBe('hello from the vm\n');
    expect(await h.stop()).toEqual({ code: 7, signal: null }); // after the exit: waits for the removal only
    const calls = cli.calls();
    expect(calls[0]).toMatch(/^image inspect carapace-agent:[0-9a-f]{16}$/); // built already: no build
    expect(calls[1]).toMatch(/^create --rm --name apple-t1 .* --network none --cap-drop ALL --read-only --init /);
    expect(calls.slice(2)).toEqual(['start --attach apple-t1', 'delete --force apple-t1']);
    expect(fs.existsSync(path.join(tmp, 'state', 'apple-t1'))).toBe(false);
  });
});

describe('DockerRuntime', () => {
  it('honours DOCKER_HOST: an unreachable engine is reported as such', async () => {
    const rt = new DockerRuntime({ stateDir: tmp, env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    const a = await rt.available();
    expect(a.ok).toBe(false);
    expect((a as { reason: string }).reason).toMatch(/DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock|not installed/);
  });
});
