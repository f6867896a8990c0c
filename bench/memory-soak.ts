// `npm run soak:memory`: the host's memory over a long run of answered messages (default one hour, one message a
// second), alone in its process, to show whether it grows and what grows (RssAnon / RssFile / RssShmem, which
// mappings, the V8 heap). Writes bench/results/memory-soak-<date>[-<SOAK_LABEL>].json.
// SOAK_MINUTES, SOAK_EVERY_MS (pause after each answer), SOAK_GROUPS (extra registered groups),
// SOAK_WARMUP_MINUTES (left out of the slope and ceiling; default half the soak), SOAK_CLEAR_EVERY (send /clear
// every N messages; default never), SOAK_NODE_FLAGS and GLIBC_TUNABLES (passed to the measured process).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostMemory } from './host-memory.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const env = process.env;
const minutes = Number(env.SOAK_MINUTES ?? 60);
const everyMs = Number(env.SOAK_EVERY_MS ?? 1000);
const warmupMinutes = Number(env.SOAK_WARMUP_MINUTES ?? minutes / 2);
const settings = { nodeFlags: env.SOAK_NODE_FLAGS ?? '', glibcTunables: env.GLIBC_TUNABLES ?? '', clearEvery: Number(env.SOAK_CLEAR_EVERY ?? 0) };

const result = await hostMemory({
  groups: Number(env.SOAK_GROUPS ?? 100),
  soakSeconds: minutes * 60,
  everyMs,
  warmupSeconds: warmupMinutes * 60,
  clearEvery: settings.clearEvery,
  nodeFlags: settings.nodeFlags.split(' ').filter(Boolean),
  glibcTunables: settings.glibcTunables,
});
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const label = env.SOAK_LABEL ? `-${env.SOAK_LABEL}` : '';
const file = join(dir, `memory-soak-${new Date().toISOString().slice(0, 10)}${label}.json`);
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), minutes, everyMs, settings, ...result }, null, 1)}\n`);
const { perMinute: _perMinute, ...soak } = result.soak;
console.log(JSON.stringify({ ...result, soak }, null, 1));
console.log(`report: ${file}`);
