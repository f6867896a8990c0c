// `npm run soak:memory`: the host's RSS over a long run of answered messages (default one hour, one message a
// second), alone in its process, to show whether it grows. Writes bench/results/memory-soak-<date>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostMemory } from './host-memory.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const minutes = Number(process.env.SOAK_MINUTES ?? 60);
const everyMs = Number(process.env.SOAK_EVERY_MS ?? 1000);

const result = await hostMemory({ groups: Number(process.env.SOAK_GROUPS ?? 100), soakSeconds: minutes * 60, everyMs });
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `memory-soak-${new Date().toISOString().slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), minutes, everyMs, ...result }, null, 1)}\n`);
console.log(JSON.stringify(result, null, 1));
console.log(`report: ${file}`);
