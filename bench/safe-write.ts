// Cost of the safe path into agent-writable trees (src/fs/safe-write.ts) against a plain writeFileSync: the same
// 1 KB files at depth 2 (media/<day>/<file>), interleaved so both see the same disk and cache. Target: p50 < 1 ms.
// `npm run build && node dist/bench/safe-write.js` runs this section alone; `npm run bench` includes it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AgentTree } from '../src/fs/safe-write.js';

/** Percentiles in ms with microsecond precision (these are well below a millisecond). */
function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 1000) / 1000;
  return { n: s.length, p50: at(0.5), p95: at(0.95), max: at(1) };
}

export async function measureSafeWrite(files = 1000) {
  const base = mkdtempSync(join(tmpdir(), 'carapace-bench-safe-write-'));
  const data = Buffer.alloc(1024, 'x');
  // As root the safe path also hands each file to the sandbox user (fchown), as it does in production.
  const tree = new AgentTree(join(base, 'safe'), process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : undefined);
  mkdirSync(join(base, 'safe'));
  mkdirSync(join(base, 'plain', 'media', 'day'), { recursive: true });
  const safeMs: number[] = [];
  const plainMs: number[] = [];
  try {
    for (let i = 0; i < files; i++) {
      let t0 = performance.now();
      tree.write(`media/day/f-${i}.bin`, data);
      safeMs.push(performance.now() - t0);
      t0 = performance.now();
      writeFileSync(join(base, 'plain', 'media', 'day', `f-${i}.bin`), data);
      plainMs.push(performance.now() - t0);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return { files, bytesPerFile: data.length, depth: 2, safe: percentiles(safeMs), plainWriteFileSync: percentiles(plainMs), target: 'safe p50 < 1 ms' };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = { date: new Date().toISOString(), unit: 'ms', ...(await measureSafeWrite(Number(process.env.BENCH_SAFE_WRITE_FILES ?? 2000))) };
  console.log(JSON.stringify(result, null, 2));
  const out = join(fileURLToPath(new URL('../../', import.meta.url)), 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `safe-write-${result.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${file}`);
}
