// What the agent image needs of this checkout, and nothing more: the compiled files the runner imports (followed
// from dist/src/runner/main.js) and the npm packages those import, with everything they depend on, resolved
// through package-lock.json the way Node resolves them. The orchestrator's own packages (channels, SQLite, …)
// stay out of the build context.
import fs from 'node:fs';
import path from 'node:path';

export interface LockEntry {
  version?: string;
  integrity?: string;
  dev?: boolean;
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const IMPORT = /(?:^|[^\w$.])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w$.])import\s*\(?\s*['"]([^'"]+)['"]/gm;

/** The package a bare specifier names ("@scope/pkg/sub" → "@scope/pkg"), or undefined for node: and relative ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The compiled files reachable from `entry` (relative to `dist`) and the packages they import. */
export function runnerFiles(dist: string, entry = 'runner/main.js'): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (rel: string) => {
    if (files.has(rel)) return;
    files.add(rel);
    for (const m of fs.readFileSync(path.join(dist, rel), 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const pkg = packageOf(spec);
      if (pkg) packages.add(pkg);
      else if (spec.startsWith('.')) visit(path.normalize(path.join(path.dirname(rel), spec)));
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages };
}

/** Where Node finds `name` from the package at `fromDir` (a lock key), or undefined when not in the lock. */
function resolveIn(lock: Record<string, LockEntry>, fromDir: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** Lock keys of `roots` and of everything they depend on (optional and peer dependencies included). */
export function dependencyClosure(lock: Record<string, LockEntry>, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const add = (from: string, name: string) => {
    const dir = resolveIn(lock, from, name);
    if (dir && !seen.has(dir)) {
      seen.add(dir);
      queue.push(dir);
    }
  };
  for (const root of roots) add('', root);
  while (queue.length > 0) {
    const dir = queue.shift()!;
    const e = lock[dir];
    for (const deps of [e.dependencies, e.optionalDependencies, e.peerDependencies]) for (const name of Object.keys(deps ?? {})) add(dir, name);
  }
  return seen;
}
