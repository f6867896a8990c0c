// Extra host directories for a group. Only what the owner's allowlist file permits is mounted; the file lives
// outside the project (~/.config/carapace/mount-allowlist.json) and is never mounted into any sandbox, so no agent
// can widen its own access.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, sep } from 'node:path';
import { z } from 'zod';
import type { Mount } from '../sandbox/runtime.js';
import type { MountRequest } from '../groups/group-config.js';

export const EXTRA_MOUNT_DIR = '/workspace/extra';

/** Names that hold credentials or keys; the user's own patterns are added to these, never replace them. */
export const DEFAULT_BLOCKED_PATTERNS = [
  '.ssh', '.gnupg', '.gpg', '.aws', '.azure', '.gcloud', 'gcloud', '.kube', '.docker', '.env', '.netrc', '.npmrc',
  '.pypirc', '.git-credentials', '.password-store', 'id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'private_key',
  'credentials', '.secret', '*.pem', '*.key',
];

const fileSchema = z
  .object({
    allowedRoots: z.array(
      z
        .object({
          path: z.string().min(1),
          /** Main may mount below this root read-write when it asks to. */
          allowReadWrite: z.boolean().default(false),
          /** Other groups may too (otherwise they always get read-only). */
          nonMainReadWrite: z.boolean().default(false),
          description: z.string().optional(),
        })
        .strict(),
    ),
    blockedPatterns: z.array(z.string().min(1)).default([]),
  })
  .strict();

export interface AllowedRoot {
  /** Real path (symlinks resolved). */
  path: string;
  allowReadWrite: boolean;
  nonMainReadWrite: boolean;
}
export interface MountAllowlist {
  allowedRoots: AllowedRoot[];
  blockedPatterns: string[];
}

export const expandHome = (p: string, home: string) => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);

/** Read and check the allowlist. A missing file means "no extra mounts at all". */
export function loadMountAllowlist(file: string, home: string): { allowlist?: MountAllowlist; error?: string } {
  if (!existsSync(file)) return { error: `no mount allowlist at ${file}, so no extra directories are mounted` };
  let parsed;
  try {
    parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    return { error: `mount allowlist ${file} is not valid JSON: ${(err as Error).message}` };
  }
  if (!parsed.success) return { error: `mount allowlist ${file} is malformed: ${z.prettifyError(parsed.error)}` };
  const allowedRoots: AllowedRoot[] = [];
  for (const root of parsed.data.allowedRoots) {
    const expanded = expandHome(root.path, home);
    if (!isAbsolute(expanded)) return { error: `mount allowlist ${file}: root ${root.path} must be absolute or start with ~/` };
    try {
      allowedRoots.push({ ...root, path: realpathSync(expanded) });
    } catch {
      // A root that does not exist (yet) simply allows nothing.
    }
  }
  return { allowlist: { allowedRoots, blockedPatterns: [...DEFAULT_BLOCKED_PATTERNS, ...parsed.data.blockedPatterns] } };
}

const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** The pattern a path component matches: `.env` matches `.env` and `.env.local`; `*.pem` is a glob. */
export function blockedBy(component: string, patterns: readonly string[]): string | undefined {
  const c = component.toLowerCase();
  return patterns.find((p) => (p.includes('*') ? globToRegExp(p).test(c) : c === p.toLowerCase() || c.startsWith(p.toLowerCase() + '.')));
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
const overlaps = (a: string, b: string) => within(a, b) || within(b, a);
const realOrSelf = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

export interface MountContext {
  isMain: boolean;
  allowlist?: MountAllowlist;
  /** Why there is no allowlist, for the rejection message. */
  allowlistError?: string;
  /** The owner's home directory (`~`). */
  home: string;
  /** Never exposed, not even read-only: the data directory (store, other groups), the allowlist file, sockets. */
  protectedPaths: string[];
  /** Exposed read-only at most, even to main: the project directory. */
  readOnlyPaths: string[];
}

export interface MountDecision {
  mounts: Mount[];
  rejected: { request: MountRequest; reason: string }[];
  /** Asked for read-write, granted read-only. */
  downgraded: { request: MountRequest; reason: string }[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Decide each requested extra mount: granted (as a sandbox mount under /workspace/extra), downgraded or rejected. */
export function resolveExtraMounts(requests: readonly MountRequest[], ctx: MountContext): MountDecision {
  const out: MountDecision = { mounts: [], rejected: [], downgraded: [] };
  const names = new Set<string>();
  const protectedReal = ctx.protectedPaths.map(realOrSelf);
  const readOnlyReal = ctx.readOnlyPaths.map(realOrSelf);
  const home = realOrSelf(ctx.home);
  for (const request of requests) {
    const reject = (reason: string) => void out.rejected.push({ request, reason });
    if (!ctx.allowlist) {
      reject(ctx.allowlistError ?? 'no mount allowlist');
      continue;
    }
    const { blockedPatterns, allowedRoots } = ctx.allowlist;
    const expanded = expandHome(request.hostPath, ctx.home);
    if (!isAbsolute(expanded)) {
      reject('hostPath must be absolute or start with ~/');
      continue;
    }
    let real: string;
    try {
      real = realpathSync(expanded); // symlinks resolved first: a link cannot smuggle in a blocked target
      if (!statSync(real).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      reject(`${expanded} is not an existing directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    const hit = [...expanded.split(sep), ...real.split(sep)].map((c) => [c, blockedBy(c, blockedPatterns)] as const).find(([, p]) => p);
    if (hit) {
      reject(`${real} matches the blocked pattern ${JSON.stringify(hit[1])}`);
      continue;
    }
    const name = request.containerPath ?? basename(expanded);
    if (!NAME.test(name) || name === '..') {
      reject(`containerPath ${JSON.stringify(name)} must be one name of letters, digits, ".", "-" or "_"`);
      continue;
    }
    if (names.has(name)) {
      reject(`containerPath ${name} is used twice`);
      continue;
    }
    if (within(home, real)) {
      reject(`${real} would expose the whole home directory`);
      continue;
    }
    let inside: string[];
    try {
      inside = readdirSync(real);
    } catch (err) {
      reject(`${real} cannot be read (${(err as NodeJS.ErrnoException).code})`);
      continue;
    }
    const nested = inside.map((c) => [c, blockedBy(c, blockedPatterns)] as const).find(([, p]) => p);
    if (nested) {
      reject(`${real} contains ${nested[0]}, which matches the blocked pattern ${JSON.stringify(nested[1])}`);
      continue;
    }
    const guarded = protectedReal.find((p) => overlaps(real, p));
    if (guarded) {
      reject(`${real} overlaps ${guarded}, which no sandbox may see`);
      continue;
    }
    const root = allowedRoots.find((r) => within(real, r.path));
    if (!root) {
      reject(`${real} is not under an allowed root of the mount allowlist`);
      continue;
    }
    names.add(name);
    let readonly = request.readonly !== false;
    if (!readonly) {
      const why = !root.allowReadWrite
        ? `root ${root.path} is read-only`
        : !ctx.isMain && !root.nonMainReadWrite
          ? `root ${root.path} is read-only for groups other than main`
          : readOnlyReal.find((p) => overlaps(real, p))
            ? `${real} overlaps the project directory`
            : undefined;
      if (why) {
        readonly = true;
        out.downgraded.push({ request, reason: why });
      }
    }
    out.mounts.push({ host: real, sandbox: `${EXTRA_MOUNT_DIR}/${name}`, readonly });
  }
  return out;
}
