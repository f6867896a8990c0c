// The import graph: cycles, imports that point up the layers, and what the sandbox runner reaches.
import { layerOf, RUNNER, RUNNER_ONLY } from './rules.js';
import type { SourceFile } from './source.js';

export interface Arrow {
  from: string;
  line: number;
  to: string;
  why: string;
}

/**
 * Import cycles, each as a closed path of files (`a → b → a`): one per strongly connected component of the
 * graph (Tarjan's algorithm), so a tangle of five files is one cycle to untie, not a dozen.
 */
export function findCycles(files: SourceFile[]): string[][] {
  const edges = new Map(files.map((f) => [f.path, [...new Set(f.imports.map((i) => i.target))]]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) connect(w);
      if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = ''; w !== v; ) (w = stack.pop()!), onStack.delete(w), component.push(w);
    if (component.length > 1 || edges.get(v)!.includes(v)) cycles.push(pathThrough(new Set(component), edges, v));
  };
  for (const f of files) if (!index.has(f.path)) connect(f.path);
  return cycles;
}

/** One concrete closed path inside a strongly connected component, starting and ending at `start`. */
function pathThrough(component: Set<string>, edges: Map<string, string[]>, start: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (w === start) return [...walkBack(cameFrom, v, start), start];
      if (component.has(w) && !cameFrom.has(w)) cameFrom.set(w, v), queue.push(w);
    }
  }
  return [...component, start];
}

function walkBack(cameFrom: Map<string, string>, end: string, start: string): string[] {
  const path = [end];
  while (path[0] !== start) path.unshift(cameFrom.get(path[0])!);
  return path;
}

/** Imports from a higher layer, and files that belong to no layer at all (a new folder needs a place). */
export function findBackArrows(files: SourceFile[]): { arrows: Arrow[]; unlayered: string[] } {
  const arrows: Arrow[] = [];
  const unlayered = files.filter((f) => layerOf(f.path) === undefined).map((f) => f.path);
  for (const f of files) {
    const own = layerOf(f.path);
    if (own === undefined) continue;
    for (const i of f.imports) {
      const theirs = layerOf(i.target);
      if (theirs !== undefined && theirs > own) {
        arrows.push({ from: f.path, line: i.line, to: i.target, why: `layer ${own} imports layer ${theirs}${i.typeOnly ? ' (type only)' : ''}` });
      }
    }
  }
  return { arrows: [...arrows, ...runnerLeaks(files)], unlayered };
}

/** The runner and every file it reaches, directly or not, may import only from RUNNER_ONLY. */
function runnerLeaks(files: SourceFile[]): Arrow[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const allowed = (p: string) => RUNNER_ONLY.some((prefix) => p.startsWith(prefix));
  const seen = new Set(files.filter((f) => f.path.startsWith(RUNNER)).map((f) => f.path));
  const queue = [...seen];
  const leaks: Arrow[] = [];
  while (queue.length > 0) {
    const f = byPath.get(queue.shift()!)!;
    for (const i of f.imports) {
      if (!allowed(i.target)) leaks.push({ from: f.path, line: i.line, to: i.target, why: `the sandbox runner may import only ${RUNNER_ONLY.join(', ')}` });
      else if (!seen.has(i.target) && byPath.has(i.target)) seen.add(i.target), queue.push(i.target);
    }
  }
  return leaks;
}
