// The one path-containment check. Pure string logic on absolute, normalized paths (callers resolve first), with
// no imports, so the sandbox's runner can use the very same check as the host.

/** Is `path` the directory `dir` itself or somewhere below it? `/a/bc` is not within `/a/b`. */
export function isWithin(path: string, dir: string): boolean {
  if (path === dir) return true;
  return path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Strictly below `dir` (not `dir` itself). */
export const isBelow = (path: string, dir: string): boolean => path !== dir && isWithin(path, dir);
