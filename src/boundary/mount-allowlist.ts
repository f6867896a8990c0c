// Extra host directories for a group. Only what the owner's allowlist file permits is mounted; the file lives
// outside the project (~/.config/carapace/mount-allowlist.json) and is never mounted into any sandbox, so no agent
// can widen its own access.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, sep } from 'node:path';
import { isWithin } from '../fs/contain.js';
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

const overlaps = (a: string, b: string) => isWithin(a, b) || isWithin(b, a);
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
  const real = {
    protected: ctx.protectedPaths.map(realOrSelf),
    readOnly: ctx.readOnlyPaths.map(realOrSelf),
    home: realOrSelf(ctx.home),
  };
  for (const request of requests) {
    const granted = ctx.allowlist ? grant(request, ctx, ctx.allowlist, real, names) : { reason: ctx.allowlistError ?? 'no mount allowlist' };
    if ('reason' in granted) {
      out.rejected.push({ request, reason: granted.reason });
      continue;
    }
    names.add(granted.name);
    if (granted.downgrade) out.downgraded.push({ request, reason: granted.downgrade });
    out.mounts.push({ host: granted.real, sandbox: `${EXTRA_MOUNT_DIR}/${granted.name}`, readonly: granted.readonly });
  }
  return out;
}

type Grant = { real: string; name: string; readonly: boolean; downgrade?: string } | { reason: string };
interface RealPaths {
  protected: string[];
  readOnly: string[];
  home: string;
}

/** One request against the allowlist: what is mounted where, or why not. */
function grant(request: MountRequest, ctx: MountContext, allowlist: MountAllowlist, paths: RealPaths, names: Set<string>): Grant {
  const expanded = expandHome(request.hostPath, ctx.home);
  if (!isAbsolute(expanded)) return { reason: 'hostPath must be absolute or start with ~/' };
  let real: string;
  try {
    real = realpathSync(expanded); // symlinks resolved first: a link cannot smuggle in a blocked target
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    return { reason: `${expanded} is not an existing directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const name = request.containerPath ?? basename(expanded);
  const refusal =
    blockedOnTheWay(expanded, real, allowlist.blockedPatterns) ??
    nameProblem(name, names) ??
    (isWithin(paths.home, real) ? `${real} would expose the whole home directory` : undefined) ??
    blockedInside(real, allowlist.blockedPatterns);
  if (refusal) return { reason: refusal };
  const guarded = paths.protected.find((p) => overlaps(real, p));
  if (guarded) return { reason: `${real} overlaps ${guarded}, which no sandbox may see` };
  const root = allowlist.allowedRoots.find((r) => isWithin(real, r.path));
  if (!root) return { reason: `${real} is not under an allowed root of the mount allowlist` };
  const downgrade = request.readonly === false ? readWriteRefusal(real, root, ctx.isMain, paths.readOnly) : undefined;
  return { real, name, readonly: request.readonly !== false ? true : downgrade !== undefined, downgrade };
}

function blockedOnTheWay(expanded: string, real: string, patterns: string[]): string | undefined {
  const hit = [...expanded.split(sep), ...real.split(sep)].map((c) => [c, blockedBy(c, patterns)] as const).find(([, p]) => p);
  return hit ? `${real} matches the blocked pattern ${JSON.stringify(hit[1])}` : undefined;
}

function nameProblem(name: string, taken: Set<string>): string | undefined {
  if (!NAME.test(name) || name === '..') return `containerPath ${JSON.stringify(name)} must be one name of letters, digits, ".", "-" or "_"`;
  return taken.has(name) ? `containerPath ${name} is used twice` : undefined;
}

function blockedInside(real: string, patterns: string[]): string | undefined {
  let inside: string[];
  try {
    inside = readdirSync(real);
  } catch (err) {
    return `${real} cannot be read (${(err as NodeJS.ErrnoException).code})`;
  }
  const nested = inside.map((c) => [c, blockedBy(c, patterns)] as const).find(([, p]) => p);
  return nested ? `${real} contains ${nested[0]}, which matches the blocked pattern ${JSON.stringify(nested[1])}` : undefined;
}

/** Why a read-write request is granted read-only instead, if it is. */
function readWriteRefusal(real: string, root: AllowedRoot, isMain: boolean, readOnly: string[]): string | undefined {
  if (!root.allowReadWrite) return `root ${root.path} is read-only`;
  if (!isMain && !root.nonMainReadWrite) return `root ${root.path} is read-only for groups other than main`;
  return readOnly.some((p) => overlaps(real, p)) ? `${real} overlaps the project directory` : undefined;
}
