// Real bubblewrap, real processes: what an agent inside the sandbox can and cannot reach.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapRuntime, bwrapArgs, type HostLayout } from '../src/sandbox/bwrap.js';
import type { SandboxSpec } from '../src/sandbox/runtime.js';

const isRoot = process.getuid?.() === 0;
const UID = 1000; // uid inside the sandbox
const HOST_UID = isRoot ? UID : process.getuid!(); // owner of the files it writes, as seen on the host
const labels = { install: 'bwrap-test', run: String(process.pid) };

let base: string;
let ws: string;
let ro: string;
let rt: BwrapRuntime;
let seq = 0;

function spec(command: string[], extra: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    name: `t-${process.pid}-${++seq}`,
    labels,
    mounts: [
      { host: ws, sandbox: '/workspace', readonly: false },
      { host: ro, sandbox: '/ro', readonly: true },
    ],
    workdir: '/workspace',
    env: { PATH: '/usr/bin:/bin', HOME: '/home/agent', GREETING: 'hello' },
    user: { uid: UID, gid: UID },
    network: { mode: 'none' },
    limits: {},
    command,
    ...extra,
  };
}

async function run(command: string[], extra: Partial<SandboxSpec> = {}) {
  const h = await rt.start(spec(command, extra));
  let out = '';
  h.output.on('data', (d: Buffer) => (out += d));
  const exit = await h.exited;
  return { ...exit, out };
}
const sh = (script: string, extra: Partial<SandboxSpec> = {}) => run(['sh', '-c', script], extra);
const nodeEval = (code: string, extra: Partial<SandboxSpec> = {}) => run(['node', '-e', code], extra);

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-bwrap-'));
  fs.chmodSync(base, 0o755); // mkdtemp is 0700; the sandbox uid must traverse it to reach the mount sources
  ws = path.join(base, 'ws');
  ro = path.join(base, 'ro');
  fs.mkdirSync(ws);
  fs.mkdirSync(ro);
  fs.writeFileSync(path.join(ro, 'data.txt'), 'read me');
  if (isRoot) fs.chownSync(ws, UID, UID);
  fs.mkdirSync(path.join(base, 'secret'));
  fs.writeFileSync(path.join(base, 'secret', 'key.txt'), 'hunter2', { mode: 0o644 });
  process.env.CARAPACE_LEAK_MARKER = 'leaked';
  rt = new BwrapRuntime({ stateDir: path.join(base, 'state') });
});

afterAll(async () => {
  await rt?.cleanupOrphans(labels);
  delete process.env.CARAPACE_LEAK_MARKER;
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

describe('bwrapArgs', () => {
  const layout: HostLayout = { topLevel: { '/bin': 'usr/bin', '/lib64': null } };
  const a = () =>
    bwrapArgs(
      {
        ...spec(['node', 'main.js']),
        mounts: [
          { host: '/h/ipc', sandbox: '/workspace/ipc', readonly: false },
          { host: '/h/ws', sandbox: '/workspace', readonly: false },
          { host: '/h/sock', sandbox: '/run/proxy.sock', readonly: true },
        ],
      },
      layout,
    );

  it('isolates everything and passes only the given env', () => {
    const args = a();
    for (const f of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv'])
      expect(args).toContain(f);
    expect(args.join(' ')).toContain('--cap-drop ALL');
    expect(args.join(' ')).toContain('--uid 1000 --gid 1000 --hostname sandbox');
    expect(args.join(' ')).toContain('--setenv GREETING hello');
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    expect(args).not.toContain('--share-net');
  });

  it('mirrors the host layout and mounts parents before children', () => {
    const s = a().join(' ');
    expect(s).toContain('--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /lib64 /lib64');
    expect(s.indexOf('--bind /h/ws /workspace')).toBeLessThan(s.indexOf('--bind /h/ipc /workspace/ipc'));
    expect(s).toContain('--ro-bind /h/sock /run/proxy.sock');
    expect(s).not.toContain('/etc/shadow');
  });

  it('remounts / read-only last, right before the command', () => {
    const args = a();
    const dd = args.indexOf('--');
    expect(args.slice(dd - 2)).toEqual(['--remount-ro', '/', '--', 'node', 'main.js']);
    expect(args.lastIndexOf('--bind')).toBeLessThan(args.indexOf('--remount-ro'));
    expect(args.lastIndexOf('--tmpfs')).toBeLessThan(args.indexOf('--remount-ro'));
  });

  it('rejects bad specs', () => {
    const bad = (extra: Partial<SandboxSpec>) => () => bwrapArgs({ ...spec(['true']), ...extra }, layout);
    expect(bad({ mounts: [{ host: '/x', sandbox: '/', readonly: true }] })).toThrow(/reserved/);
    expect(bad({ mounts: [{ host: '/x', sandbox: '/proc/1', readonly: true }] })).toThrow(/reserved/);
    expect(bad({ mounts: [{ host: '/x', sandbox: '/dev', readonly: true }] })).toThrow(/reserved/);
    expect(bad({ mounts: [{ host: 'rel', sandbox: '/a', readonly: true }] })).toThrow(/absolute/);
    expect(bad({ mounts: [{ host: '/x', sandbox: '/a/../b', readonly: true }] })).toThrow(/normalized/);
    expect(bad({ workdir: 'workspace' })).toThrow(/workdir/);
    expect(bad({ name: '../evil' })).toThrow(/name/);
    expect(bad({ user: { uid: 0, gid: 0 } })).toThrow(/root/);
    expect(bad({ limits: { memoryMb: -1 } })).toThrow(/memoryMb/);
  });
});

describe.runIf(process.platform === 'linux')('BwrapRuntime (real bwrap)', () => {
  it('is available here', async () => {
    expect(await rt.available()).toEqual({ ok: true });
    const l = rt.limitsEnforced();
    expect(typeof l.mechanism).toBe('string');
  });

  it('runs as the unprivileged sandbox user with a user entry and only the given env', async () => {
    const r = await sh('id -u; whoami; echo "$HOME"; hostname; env');
    expect(r.code).toBe(0);
    const [uid, who, home, host] = r.out.split('\n');
    expect([uid, who, home, host]).toEqual([String(UID), 'agent', '/home/agent', 'sandbox']);
    expect(r.out).toContain('GREETING=hello');
    expect(r.out).not.toContain('CARAPACE_LEAK_MARKER');
    expect(r.out).not.toContain('leaked');
  });

  it('hides host files outside the mounts', async () => {
    const r = await sh(
      `cat ${base}/secret/key.txt; ls /root; ls /work; cat /etc/shadow; ls ${os.tmpdir()}; ls /home; ls -A /tmp | wc -l; cat /ro/data.txt`,
    );
    expect(r.out).not.toContain('hunter2');
    expect(r.out).toMatch(/key\.txt: No such file/);
    expect(r.out).toMatch(/\/root.*No such file/);
    expect(r.out).toMatch(/\/work.*No such file/);
    expect(r.out).toMatch(/\/etc\/shadow: No such file/);
    expect(r.out.trim().split('\n').slice(-3)).toEqual(['agent', '0', 'read me']);
  });

  it('has no capabilities and cannot write / or a read-only mount, but can write a rw mount', async () => {
    const r = await sh(
      'grep CapEff /proc/self/status; echo x > /ro/new.txt; echo x > /etc/x; echo x > /x; echo out > /workspace/out.txt && echo wrote',
    );
    expect(r.out).toMatch(/CapEff:\s*0+\n/);
    expect(r.out.match(/Read-only file system/g)?.length).toBe(3);
    expect(r.out).toContain('wrote');
    expect(fs.existsSync(path.join(ro, 'new.txt'))).toBe(false);
    const st = fs.statSync(path.join(ws, 'out.txt'));
    expect(fs.readFileSync(path.join(ws, 'out.txt'), 'utf8')).toBe('out\n');
    expect(st.uid).toBe(HOST_UID);
  });

  it('has no network: only lo, and a host TCP server is unreachable', async () => {
    const server = net.createServer((c) => c.end('host says hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await nodeEval(`
        console.log(JSON.stringify(Object.keys(require('os').networkInterfaces())));
        const s = require('net').connect(${port}, '127.0.0.1');
        s.on('data', d => console.log('GOT ' + d));
        s.on('error', e => console.log('ERR ' + e.code));`);
      expect(r.out).toContain('["lo"]');
      expect(r.out).toContain('ERR ECONNREFUSED');
      expect(r.out).not.toContain('GOT');
    } finally {
      server.close();
    }
  });

  it('sees none of the host processes', async () => {
    const r = await sh('ls /proc | grep -c "^[0-9]"');
    expect(Number(r.out.trim())).toBeLessThanOrEqual(5);
  });

  it('passes no inherited host fds into the sandbox', async () => {
    const r = await sh('for f in /proc/self/fd/*; do readlink "$f"; done');
    expect(r.out).not.toMatch(/pipe:|\/tmp\/|\/root\//);
  });

  it('reaches a host service through a mounted Unix socket', async () => {
    const dir = path.join(base, 'sock');
    fs.mkdirSync(dir, { mode: 0o755 });
    const sock = path.join(dir, 'api.sock');
    const server = net.createServer((c) => c.once('data', (d) => c.end(`pong:${d}`)));
    await new Promise<void>((r) => server.listen(sock, r));
    fs.chmodSync(sock, 0o666);
    try {
      const r = await nodeEval(
        `const s = require('net').connect('/run/api.sock', () => s.write('ping'));
         s.on('data', d => console.log(String(d))); s.on('error', e => console.log('ERR ' + e.code));`,
        { mounts: [{ host: sock, sandbox: '/run/api.sock', readonly: true }], workdir: '/' },
      );
      expect(r.out.trim()).toBe('pong:ping');
    } finally {
      server.close();
    }
  });

  it('rejects a mount source that does not exist', async () => {
    await expect(rt.start(spec(['true'], { mounts: [{ host: `${base}/nope`, sandbox: '/x', readonly: true }] }))).rejects.toThrow(
      /nope does not exist/,
    );
  });

  it('kills a sandbox that exceeds wallClockMs', async () => {
    const t = Date.now();
    const r = await run(['sleep', '60'], { limits: { wallClockMs: 300 } });
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(r.code === 0 && r.signal === null).toBe(false);
  });

  it('stop() asks politely (SIGTERM reaches the command) and resolves', async () => {
    const h = await rt.start(spec(['sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; sleep 60 & wait']));
    let out = '';
    h.output.on('data', (d: Buffer) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 10));
    const exit = await h.stop();
    expect(out).toContain('got TERM');
    expect(exit.code).toBe(3);
    expect(await rt.list(labels)).toEqual([]);
  });

  it('stop() force-kills a command that ignores SIGTERM', async () => {
    const h = await rt.start(spec(['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']));
    let out = '';
    h.output.on('data', (d: Buffer) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 10));
    const exit = await h.stop(200);
    expect(exit.code === 0 && exit.signal === null).toBe(false);
  });

  it('cleanupOrphans kills sandboxes left by a crashed runtime instance', async () => {
    const stateDir = path.join(base, 'state-orphans');
    const a = new BwrapRuntime({ stateDir });
    const h = await a.start(spec(['sleep', '60'], { limits: { pids: 64 } }));
    const other = await a.start({ ...spec(['sleep', '60']), labels: { install: 'someone-else' } });
    // "Crash": forget instance a; a new instance finds the sandbox through the state dir.
    const b = new BwrapRuntime({ stateDir });
    expect((await b.list(labels)).map((s) => s.name)).toEqual([h.name]);
    expect(await b.cleanupOrphans(labels)).toBe(1);
    await h.exited;
    expect(await b.list(labels)).toEqual([]);
    for (const dir of h.cgroups) expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(stateDir)).toEqual([`${other.name}.json`]);
    await other.stop(100);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  it('enforces the memory limit when it says so', async (ctx) => {
    if (!rt.limitsEnforced().memory) ctx.skip();
    const r = await nodeEval('const a = []; for (let i = 0; i < 16; i++) a.push(Buffer.alloc(32 << 20, 1)); console.log("allocated")', {
      limits: { memoryMb: 128 },
    });
    expect(r.out).not.toContain('allocated');
    expect(r.code).not.toBe(0);
  });

  it('enforces the pids limit when it says so, and removes the cgroups afterwards', async (ctx) => {
    if (!rt.limitsEnforced().pids) ctx.skip();
    const h = await rt.start(spec(['sh', '-c', 'for i in $(seq 60); do sleep 2 & done; wait'], { limits: { pids: 20 } }));
    let out = '';
    h.output.on('data', (d: Buffer) => (out += d));
    if (h.cgroups.length) {
      const procs = fs.readFileSync(path.join(h.cgroups[0], 'cgroup.procs'), 'utf8');
      expect(procs.split('\n')).toContain(String(h.pid));
    }
    await h.exited;
    expect(out).toMatch(/fork/i);
    for (const dir of h.cgroups) expect(fs.existsSync(dir)).toBe(false);
  });
});
