// Backend-independent checks and helpers for sandbox specs: every backend validates the same way and gives the
// sandbox the same user database, so the rest of Carapace cannot tell the backends apart.
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { isWithin } from '../fs/contain.js';
import { APP_MOUNT, type SandboxSpec } from './runtime.js';

export const SANDBOX_HOME = '/home/agent';

// Targets a mount may never replace (or, for the kernel filesystems, sit inside).
const RESERVED = ['/', '/usr', '/etc', '/bin', '/sbin', '/lib', '/lib64', '/home', SANDBOX_HOME, APP_MOUNT];
const KERNEL_FS = ['/proc', '/dev', '/sys'];


/** Do the labels `have` include every label in `want`? */
export const labelsMatch = (have: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have[k] === v);

/**
 * The flags every engine container of ours gets, sandbox or network holder: no capabilities, no privilege gain,
 * read-only root, an init that forwards signals and reaps, a non-root user, no engine-side log.
 */
export const containerHardening = (user: { uid: number; gid: number }): string[] => [
  '--cap-drop', 'ALL',
  '--security-opt', 'no-new-privileges',
  '--read-only',
  '--init',
  '--user', `${user.uid}:${user.gid}`,
  '--log-driver', 'none', // output is read through the attached client; nothing piles up on the engine's disk
];

/** A sandbox or share name: safe as a container, cgroup or file name. */
const NAME_SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Syntax checks that need no filesystem; backends also check that mount sources exist when starting. */
export function checkSpec(spec: SandboxSpec): void {
  const fail = (msg: string): never => {
    throw new Error(`invalid sandbox spec "${spec.name}": ${msg}`);
  };
  if (!NAME_SAFE.test(spec.name)) fail('name must be 1-100 chars of [A-Za-z0-9_.-]');
  if (spec.network.mode !== 'none') fail(`network mode ${(spec.network as { mode: string }).mode} is not supported`);
  const share = spec.network.share;
  if (share && (!NAME_SAFE.test(share.key) || Object.keys(share.labels).length === 0))
    fail('a network share needs a name-safe key and the labels that mark its holder as this install\'s');
  if (!Number.isInteger(spec.user.uid) || !Number.isInteger(spec.user.gid) || spec.user.uid <= 0 || spec.user.gid <= 0)
    fail('user uid/gid must be positive integers (sandboxes never run as root)');
  if (spec.command.length === 0) fail('command is empty');
  const abs = (p: string, what: string) => {
    if (!path.isAbsolute(p) || path.normalize(p) !== p || (p.length > 1 && p.endsWith('/')))
      fail(`${what} must be an absolute, normalized path: ${p}`);
  };
  abs(spec.workdir, 'workdir');
  if (spec.appDir !== undefined) abs(spec.appDir, 'appDir');
  const seen = new Set<string>();
  for (const m of spec.mounts) {
    abs(m.host, 'mount host path');
    abs(m.sandbox, 'mount target');
    if (RESERVED.includes(m.sandbox) || KERNEL_FS.some((d) => isWithin(m.sandbox, d)) || isWithin(m.sandbox, APP_MOUNT))
      fail(`mount target ${m.sandbox} is reserved`);
    if (seen.has(m.sandbox)) fail(`mount target ${m.sandbox} is used twice`);
    seen.add(m.sandbox);
  }
  for (const [k, v] of Object.entries(spec.limits))
    if (v !== undefined && !(typeof v === 'number' && v > 0)) fail(`limit ${k} must be a positive number`);
  for (const k of Object.keys(spec.env)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`bad env name ${k}`);
  // Engines list labels as "k=v,k=v" text: keep both sides free of separators.
  for (const [k, v] of [...Object.entries(spec.labels), ...Object.entries(share?.labels ?? {})])
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(k) || !/^[A-Za-z0-9._:-]*$/.test(v)) fail(`bad label ${k}=${v}`);
}

/** The sandbox's /etc/passwd and /etc/group: the sandbox user is "agent" with its home at SANDBOX_HOME. */
export function etcFiles(user: { uid: number; gid: number }): [string, string][] {
  const { uid, gid } = user;
  return [
    ['/etc/passwd', `root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:${uid}:${gid}:agent:${SANDBOX_HOME}:/bin/sh\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'],
    ['/etc/group', `root:x:0:\nagent:x:${gid}:\nnogroup:x:65534:\n`],
  ];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Unread output is buffered up to this size, then dropped, so an unread log never stalls the sandbox. */
const OUTPUT_BUFFER_MAX = 8 * 1024 * 1024;

/** One stream carrying a sandbox's stdout and stderr; it ends when both have ended. */
export function mergeOutput(streams: Readable[]): PassThrough {
  const output = new PassThrough();
  let open = streams.length;
  let dropped = false;
  for (const s of streams) {
    s.on('data', (chunk: Buffer) => {
      if (output.writableLength < OUTPUT_BUFFER_MAX) output.write(chunk);
      else if (!dropped) {
        dropped = true;
        output.write('\n[carapace: output dropped, nobody is reading]\n');
      }
    });
    s.on('end', () => --open === 0 && output.end());
    s.on('error', () => {}); // a reset pipe of a killed sandbox; the exit is reported elsewhere
  }
  return output;
}
