// The orchestrator's idle memory (issue 17: ≤ 100 MB) depends on not loading what an install does not use:
// Baileys alone is ~20 MB of heap. A module hook records every package the real `carapace start` imports.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { startChildCarapace } from './support/child-carapace.js';
import { startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir } from './support/harness.js';

/** Packages a `start` with no channel configured, no secrets and no terminal must not load. */
const UNUSED_HERE = ['@whiskeysockets/baileys', 'grammy', '@slack/bolt', '@slack/web-api', 'discord.js', 'qrcode', 'pino-pretty', '@inquirer/prompts', 'node-forge'];

function writeHook(dir: string, logFile: string): string {
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(${JSON.stringify(logFile)}, r.url + '\\n');
  return r;
}\n`,
  );
  // ES imports go through the hook; require() (CommonJS, createRequire) shows in require.cache at exit.
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register('./hooks.mjs', import.meta.url);
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(${JSON.stringify(logFile)}, Object.keys(cache).join('\\n') + '\\n'));\n`,
  );
  return register;
}

describe('carapace start loads only what the install uses', () => {
  let fake: FakeAnthropic;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(() => fake.close());

  it('no channel library, prompt or certificate code without their channel, terminal or secret', async () => {
    const dataDir = sandboxReadableTempDir('carapace-lazy-');
    const logFile = join(dataDir, 'imports.log');
    writeFileSync(logFile, '');
    const register = writeHook(dataDir, logFile);
    const child = await startChildCarapace(dataDir, fake.url, {}, ['--import', register, join(APP_ROOT, 'bin', 'carapace.js'), 'start']);
    await child.kill('SIGTERM');
    const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    const loaded = new Set(readFileSync(logFile, 'utf8').split('\n').map(packageOf));
    expect(loaded).toContain('better-sqlite3'); // required: the exit list works
    expect(loaded).toContain('commander'); // imported: the hook works
    expect(UNUSED_HERE.filter((name) => loaded.has(name))).toEqual([]);
  });
});
