// Can bubblewrap run sandboxes on this machine? Finds the binary and starts a minimal sandbox with the seccomp
// filter, as the sandbox uid; a failure names the likely cause.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hostRootArgs } from './bwrap-args.js';
import { feedFds } from './bwrap-spawn.js';
import type { Availability } from './runtime.js';
import { seccompArch, seccompProgram } from './seccomp.js';

export const BWRAP_MISSING =
  'bubblewrap (bwrap) is not installed: run `apt-get install bubblewrap` (Fedora: `dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)';

/** The bwrap binary on PATH (or in /usr/bin, /usr/local/bin). */
export function findBwrap(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    try {
      fs.accessSync(path.join(d, 'bwrap'), fs.constants.X_OK);
      return path.join(d, 'bwrap');
    } catch {
      /* next */
    }
  }
  return undefined;
}

export async function probeBwrap(bin: string | undefined): Promise<Availability> {
  if (!bin) return { ok: false, reason: BWRAP_MISSING };
  const arch = seccompArch();
  if (!arch) return { ok: false, reason: `the bubblewrap sandbox's seccomp filter knows x86_64 and aarch64, not ${process.arch}` };
  const args = ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--seccomp', '3', ...hostRootArgs()];
  args.push('--proc', '/proc', '--dev', '/dev', '--', 'true');
  // As root, probe as an unprivileged uid: that is how sandboxes run, and what needs user namespaces.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(bin, args, { ...asUser, cwd: '/', env: {}, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], timeout: 10_000 });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d));
    p.on('error', (e) => resolve({ code: null, err: e.message }));
    p.on('spawn', () => feedFds(p, 3, [seccompProgram(arch)]));
    p.on('close', (code) => resolve({ code, err }));
  });
  if (result.code === 0) return { ok: true };
  return { ok: false, reason: `bwrap cannot create a sandbox here (${result.err.trim() || `exit ${result.code}`}). ${userNsHint()}` };
}

/** Name the kernel setting that blocks unprivileged user namespaces, if one does. */
function userNsHint(): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0')
    return 'Unprivileged user namespaces are disabled: `sysctl -w kernel.unprivileged_userns_clone=1`.';
  if (read('/proc/sys/user/max_user_namespaces') === '0')
    return 'User namespaces are disabled: `sysctl -w user.max_user_namespaces=15000`.';
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1')
    return 'AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): add an AppArmor profile for bwrap, or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`.';
  return 'Unprivileged user namespaces may be blocked (check kernel.unprivileged_userns_clone, user.max_user_namespaces, kernel.apparmor_restrict_unprivileged_userns), or this runs inside a container that forbids them.';
}
