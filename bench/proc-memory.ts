// What a process's resident memory is made of, read from /proc: anonymous vs file-backed vs shared (status), and
// which mappings hold it (smaps), so a soak can say WHAT grew, not only that the RSS did.
import { readFileSync } from 'node:fs';
import { round } from './stats.js';

const MB = 1024;

export interface StatusMemory {
  rssMb: number;
  anonMb: number;
  fileMb: number;
  shmemMb: number;
}

/** VmRSS and its three parts (RssAnon + RssFile + RssShmem = VmRSS), in MB. */
export function statusMemory(pid: number): StatusMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    rssMb: round(kb('VmRSS') / MB),
    anonMb: round(kb('RssAnon') / MB),
    fileMb: round(kb('RssFile') / MB),
    shmemMb: round(kb('RssShmem') / MB),
  };
}

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  rssKb: number;
}

function parseSmaps(pid: number): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      mappings.push({ start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], name: head[4], rssKb: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length > 0) mappings[mappings.length - 1].rssKb = Number(rss[1]);
  }
  return mappings;
}

// glibc gives each non-main malloc arena a 64 MiB-aligned, 64 MiB reservation: a read-write part followed by an
// inaccessible rest. Anything else anonymous is V8's heap, thread stacks or other mmaps.
const ARENA = 64n * 1024n * 1024n;

function isMallocArena(m: Mapping, next: Mapping | undefined): boolean {
  if (m.name !== '' || m.perms !== 'rw-p' || m.start % ARENA !== 0n) return false;
  const reserved = next && next.name === '' && next.perms === '---p' && next.start === m.end ? next.end : m.end;
  return reserved - m.start === ARENA;
}

/** A mapping's kind: the file's base name, `[heap]` (the main malloc arena), `[malloc arenas]`, `[anon]`, … */
function kindOf(m: Mapping, next: Mapping | undefined): string {
  if (m.name.startsWith('/')) return m.name.slice(m.name.lastIndexOf('/') + 1).replace(/ \(deleted\)$/, '');
  if (m.name !== '') return m.name;
  return isMallocArena(m, next) ? '[malloc arenas]' : '[anon]';
}

/** Resident MB per mapping kind, largest first. */
export function residentByMapping(pid: number): Record<string, number> {
  const mappings = parseSmaps(pid);
  const kb = new Map<string, number>();
  mappings.forEach((m, i) => {
    const kind = kindOf(m, mappings[i + 1]);
    kb.set(kind, (kb.get(kind) ?? 0) + m.rssKb);
  });
  const sorted = [...kb].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(sorted.map(([k, v]) => [k, round(v / MB, 2)]));
}

/** What changed between two `residentByMapping` readings, by at least `minMb`, largest change first. */
export function mappingGrowth(before: Record<string, number>, after: Record<string, number>, minMb = 0.5): Record<string, number> {
  const kinds = new Set([...Object.keys(before), ...Object.keys(after)]);
  const deltas = [...kinds].map((k) => [k, round((after[k] ?? 0) - (before[k] ?? 0), 2)] as const);
  return Object.fromEntries(deltas.filter(([, d]) => Math.abs(d) >= minMb).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])));
}
