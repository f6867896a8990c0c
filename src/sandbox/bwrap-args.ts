// The bwrap command line for a sandbox spec: namespaces, the host's /usr read-only, generated /etc files, the
// spec's mounts and the seccomp filter. Data bwrap reads (generated files, the filter) arrives on numbered fds.
import fs from 'node:fs';
import path from 'node:path';
import { APP_MOUNT, type Mount, type SandboxSpec } from './runtime.js';
import { checkSpec, etcFiles, SANDBOX_HOME } from './spec.js';

/** What the host root looks like, so the sandbox gets the same /bin, /lib64, … shape. */
export interface HostLayout {
  /** Top-level dirs that exist on the host: symlink target (merged /usr), or null for a real directory. */
  topLevel: Record<string, string | null>;
  /** Install prefix of node when it lives outside /usr (nvm, tarball in /opt); bound read-only at the same path. */
  nodePrefix?: string;
}

let layoutCache: HostLayout | undefined;
export function hostLayout(): HostLayout {
  if (layoutCache) return layoutCache;
  const topLevel: Record<string, string | null> = {};
  for (const d of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      topLevel[d] = fs.lstatSync(d).isSymbolicLink() ? fs.readlinkSync(d) : null;
    } catch {
      /* absent on this host */
    }
  }
  const real = fs.realpathSync(process.execPath);
  const nodePrefix = real.startsWith('/usr/') ? undefined : path.dirname(path.dirname(real));
  return (layoutCache = { topLevel, nodePrefix });
}

// Host /etc entries a normal program needs (TLS roots, name service config, tool alternatives, time zone).
// Everything else in /etc (shadow, ssh keys, resolv.conf, the host's passwd) stays out.
const ETC_BINDS = [
  '/etc/ssl/certs', '/etc/ssl/openssl.cnf', '/etc/ca-certificates', '/etc/pki', '/etc/nsswitch.conf',
  '/etc/alternatives', '/etc/localtime', '/etc/timezone', '/etc/ld.so.cache',
];
/** First fd bwrap reads data from (stdin/stdout/stderr are 0–2); see `bwrapFdData`. The cgroup gate fd follows. */
export const DATA_FD = 3;
/** The parts of the runner's package visible at APP_MOUNT: never the whole project (it holds .env and data), and
 * of dist/ only the compiled sources (not tests or benchmarks). */
const APP_PARTS = ['dist/src', 'node_modules', 'package.json'];

/** Generated /etc files: path and content. */
function bwrapEtcFiles(spec: SandboxSpec): [string, string][] {
  return [...etcFiles(spec.user), ['/etc/hosts', '127.0.0.1 localhost sandbox\n::1 localhost\n']];
}

/** What bwrap reads from fds DATA_FD, DATA_FD+1, … in this order: the generated /etc files, then the seccomp filter. */
export function bwrapFdData(spec: SandboxSpec, seccompFilter: Buffer): (string | Buffer)[] {
  return [...bwrapEtcFiles(spec).map(([, content]) => content), seccompFilter];
}

/** The spec's mounts plus the runner's package parts from `appDir`. */
export function allMounts(spec: SandboxSpec): Mount[] {
  const app = spec.appDir;
  return [...spec.mounts, ...(app ? APP_PARTS.map((p) => ({ host: path.join(app, p), sandbox: `${APP_MOUNT}/${p}`, readonly: true })) : [])];
}

/** The host's /usr read-only and the top-level dirs around it in the same shape (real dirs bound, links made). */
export function hostRootArgs(layout: HostLayout = hostLayout()): string[] {
  const a = ['--ro-bind', '/usr', '/usr'];
  for (const [dir, target] of Object.entries(layout.topLevel)) a.push(...(target === null ? ['--ro-bind', dir, dir] : ['--symlink', target, dir]));
  return a;
}

/**
 * The bwrap argv (without the binary) for a spec. Pure apart from `hostLayout()` (pass `layout` in tests).
 * Generated /etc files and the seccomp filter are read from fds DATA_FD.. (see `bwrapFdData`); the caller provides them.
 */
export function bwrapArgs(spec: SandboxSpec, layout: HostLayout = hostLayout()): string[] {
  checkSpec(spec);
  const a = [
    // All namespaces; user ns is mandatory (not "try"), and the sandbox may not create nested ones.
    '--unshare-all', '--unshare-user', '--disable-userns',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    '--uid', String(spec.user.uid), '--gid', String(spec.user.gid), '--hostname', 'sandbox',
    '--clearenv',
  ];
  for (const [k, v] of Object.entries(spec.env)) a.push('--setenv', k, v);
  a.push(...hostRootArgs(layout));
  if (layout.nodePrefix) a.push('--ro-bind', layout.nodePrefix, layout.nodePrefix);
  a.push('--perms', '0755', '--dir', '/etc');
  for (const f of ETC_BINDS) a.push('--ro-bind-try', f, f);
  const etc = bwrapEtcFiles(spec);
  etc.forEach(([file], i) => a.push('--perms', '0644', '--ro-bind-data', String(DATA_FD + i), file));
  a.push('--seccomp', String(DATA_FD + etc.length)); // loaded last, right before the command runs
  a.push('--proc', '/proc', '--dev', '/dev', '--perms', '01777', '--tmpfs', '/tmp', '--tmpfs', SANDBOX_HOME);
  // Parents before children, or a later parent mount would hide an earlier nested one.
  const depth = (p: string) => p.split('/').length;
  for (const m of allMounts(spec).sort((x, y) => depth(x.sandbox) - depth(y.sandbox)))
    a.push(m.readonly ? '--ro-bind' : '--bind', m.host, m.sandbox);
  // Last: every mount point now exists in the tmpfs root, so it can become read-only.
  a.push('--chdir', spec.workdir, '--remount-ro', '/', '--', ...spec.command);
  return a;
}