// bubblewrap specifics: its argv, and how limits land in cgroups. What an agent can and cannot reach, limits,
// stopping and crash cleanup are checked for every backend in sandbox-conformance.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapRuntime, bwrapArgs, type HostLayout } from '../src/sandbox/bwrap.js';
import type { SandboxSpec } from '../src/sandbox/runtime.js';
import { runToEnd, SANDBOX_UID, testSpec } from './support/sandboxes.js';

const isRoot = process.getuid?.() === 0;
const UID = SANDBOX_UID;
const labels = { install: 'bwrap-test', run: String(process.pid) };

let base: string;
let ws: string;
let ro: string;
let rt: BwrapRuntime;
let seq = 0;

const spec = (command: string[], extra: Partial<SandboxSpec> = {}) => testSpec(`t-${process.pid}-${++seq}`, { ws, ro }, labels, command, extra);
const run = (command: string[], extra: Partial<SandboxSpec> = {}) => runToEnd(rt, spec(command, extra));
const sh = (script: string, extra: Partial<SandboxSpec> = {}) => run(['sh', '-c', script], extra);

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'carapace-bwrap-'));
  fs.chmodSync(base, 0o755); // mkdtemp is 0700; the sandbox uid must traverse it to reach the mount sources
  ws = path.join(base, 'ws');
  ro = path.join(base, 'ro');
  fs.mkdirSync(ws);
  fs.mkdirSync(ro);
  if (isRoot) fs.chownSync(ws, UID, UID);
  rt = new BwrapRuntime({ stateDir: path.join(base, 'state') });
});

afterAll(async () => {
  await rt?.cleanupOrphans(labels);
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

  it('binds only dist/src, node_modules and package.json of appDir at /app, read-only', () => {
    const s = bwrapArgs({ ...spec(['true']), appDir: '/proj' }, layout).join(' ');
    expect(s).toContain('--ro-bind /proj/dist/src /app/dist/src');
    expect(s).toContain('--ro-bind /proj/node_modules /app/node_modules');
    expect(s).toContain('--ro-bind /proj/package.json /app/package.json');
    expect(s).not.toMatch(/--ro-bind \/proj \/app/);
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
    expect(bad({ mounts: [{ host: '/x', sandbox: '/app/dist', readonly: true }] })).toThrow(/reserved/);
    expect(bad({ labels: { 'carapace.install': 'a,b=c' } })).toThrow(/bad label/);
  });
});

describe.runIf(process.platform === 'linux')('BwrapRuntime (real bwrap)', () => {
  it('is available here', async () => {
    expect(await rt.available()).toEqual({ ok: true });
    expect(typeof (await rt.limitsEnforced()).mechanism).toBe('string');
  });

  it('mounts the runner package read-only at /app from appDir, and nothing else of the project', async () => {
    const app = path.join(base, 'app');
    fs.mkdirSync(path.join(app, 'dist', 'src'), { recursive: true });
    fs.mkdirSync(path.join(app, 'dist', 'test'));
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.writeFileSync(path.join(app, 'package.json'), '{}');
    fs.writeFileSync(path.join(app, '.env'), 'ANTHROPIC_API_KEY=secret');
    const r = await sh('ls -A /app /app/dist; cat /app/.env; touch /app/dist/src/x', { appDir: app });
    expect(r.out.split('\n').slice(0, 7)).toEqual(['/app:', 'dist', 'node_modules', 'package.json', '', '/app/dist:', 'src']);
    expect(r.out).not.toContain('secret');
    expect(r.out).toMatch(/Read-only file system/);
  });

  it('hostname is "sandbox"', async () => {
    expect((await sh('hostname')).out).toBe('sandbox\n');
  });

  it('runs each limited sandbox in its own cgroups (removed afterwards), or under prlimit without cgroups', async () => {
    const viaCgroups = (await rt.limitsEnforced()).mechanism.startsWith('cgroup');
    const h = await rt.start(spec(['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; sleep 1'], { limits: { pids: 20, memoryMb: 128 } }));
    let out = '';
    h.output.on('data', (d: Buffer) => (out += d));
    expect(h.cgroups.length > 0).toBe(viaCgroups);
    for (const dir of h.cgroups) expect(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(h.pid));
    await h.exited;
    for (const dir of h.cgroups) expect(fs.existsSync(dir)).toBe(false);
    expect(out.includes('prlimit')).toBe(!viaCgroups);
  });
});
