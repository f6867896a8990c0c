// `npm run soak`: the fault harness at size (test/support/soak.ts). SOAK_MESSAGES messages over the local chat,
// WhatsApp, Telegram, Slack and Discord, SOAK_KILLS `kill -9` of the real `carapace start` at hook points and at
// random, SOAK_SEED for the random choices. The report goes to bench/results/soak-<date>.json.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSoak, soakSummary } from '../test/support/soak.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const resultsDir = join(ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const reportFile = join(resultsDir, `soak-${new Date().toISOString().slice(0, 10)}.json`);
const report = await runSoak({
  messages: env('SOAK_MESSAGES', 200),
  kills: env('SOAK_KILLS', 12),
  seed: env('SOAK_SEED', 17),
  paceMs: env('SOAK_PACE_MS', 150),
  settleMs: 180_000,
  reportFile,
  progress: (line) => console.log(line),
});
console.log(`soak: ${soakSummary(report)}`);
console.log('per chat:', report.perChat);
console.log(`report: ${reportFile}`);
const clean = report.lost + report.unanswered + report.duplicates + report.orphanedSandboxes + report.leftoverTemp === 0;
process.exitCode = clean ? 0 : 1;
