// Settings: the .env file (found next to package.json, broken lines reported by number), every setting checked with
// a message naming it and what it allows, and the data directory private from the start — through the real CLI.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { loadConfig, readEnv } from '../src/config.js';
import { envFilePath } from '../src/config/env.js';
import { parseDotenv } from '../src/config/dotenv.js';
import { runCli } from './support/run-cli.js';

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

describe('.env parsing', () => {
  it('reads names, quotes, comments, export and multi-line double quotes', () => {
    const text = [
      '# comment',
      'export A=plain value # trailing comment',
      "B='single # not a comment'",
      'C="two\\nlines \\"quoted\\""',
      'D="spans',
      'lines"',
      'E=',
      '  F = spaced',
    ].join('\n');
    expect(parseDotenv(text)).toEqual({
      values: { A: 'plain value', B: 'single # not a comment', C: 'two\nlines "quoted"', D: 'spans\nlines', E: '', F: 'spaced' },
      problems: [],
    });
  });

  it('reports each broken line by number and still reads the lines after it', () => {
    const { values, problems } = parseDotenv('GOOD=1\nthis is not a setting\nQ="never closed\nAFTER=2\n1BAD=3\nS=\'open\n');
    expect(problems).toEqual([
      { line: 2, message: expect.stringMatching(/expected NAME=value/) },
      { line: 3, message: expect.stringMatching(/^Q: the opening " is never closed/) },
      { line: 5, message: expect.stringMatching(/expected NAME=value/) },
      { line: 6, message: expect.stringMatching(/^S: the opening ' is not closed/) },
    ]);
    expect(values).toEqual({ GOOD: '1', AFTER: '2' });
  });

  it('readEnv takes the file next to package.json by default, CARAPACE_ENV_FILE when set', () => {
    const dir = tempDir('carapace-envfile-');
    writeFileSync(join(dir, 'other.env'), 'ASSISTANT_NAME=Robin\n');
    expect(readEnv(APP_ROOT, { CARAPACE_ENV_FILE: join(dir, 'other.env') }).ASSISTANT_NAME).toBe('Robin');
    writeFileSync(join(dir, '.env'), 'ASSISTANT_NAME=Kim\n');
    expect(readEnv(dir, {}).ASSISTANT_NAME).toBe('Kim');
    expect(envFilePath(undefined, {})).toBe(join(APP_ROOT, '.env')); // not the working directory's
  });
});

describe('every setting is checked', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/],
    [{ CARAPACE_WEB_PORT: '99999' }, /CARAPACE_WEB_PORT must be an integer from 0 to 65535, got "99999"/],
    [{ CARAPACE_WEB_HOST: 'not a host' }, /CARAPACE_WEB_HOST must be an IP address or host name/],
    [{ ANTHROPIC_BASE_URL: 'not-a-url' }, /ANTHROPIC_BASE_URL must be an http\(s\) URL like https:\/\/api.example.com, got "not-a-url"/],
    [{ ANTHROPIC_BASE_URL: 'ftp://x.org' }, /ANTHROPIC_BASE_URL must be an http\(s\) URL/],
    [{ CARAPACE_LOG_MAX_MB: '0' }, /CARAPACE_LOG_MAX_MB must be an integer from 1 to 1024/],
    [{ CARAPACE_MODEL: 'claude sonnet' }, /CARAPACE_MODEL must be a model id like claude-sonnet-4-5 .*, got "claude sonnet"/],
    [{ CLAUDE_CODE_MAX_RETRIES: 'many' }, /CLAUDE_CODE_MAX_RETRIES must be an integer from 0 to 100, got "many"/],
  ];
  it.each(bad)('%o is refused with a message naming the setting and what it allows', (env, message) => {
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', ...env })).toThrow(message);
  });

  it('keeps good values, and resolves a relative data directory next to package.json', () => {
    const c = loadConfig({ ANTHROPIC_API_KEY: 'k', LOG_LEVEL: 'warn', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/', CARAPACE_DATA_DIR: 'mydata' });
    expect(c).toMatchObject({ logLevel: 'warn', upstreamUrl: 'http://127.0.0.1:9', dataDir: join(APP_ROOT, 'mydata') });
  });
});

describe('settings through the real CLI', () => {
  it('a broken .env stops the command with the file, the line number and exit 1', async () => {
    const dir = tempDir('carapace-badenv-');
    writeFileSync(join(dir, 'carapace.env'), 'ASSISTANT_NAME=Robin\nCARAPACE_WEB_PORT 4780\n');
    const env = { PATH: process.env.PATH, HOME: dir, CARAPACE_DATA_DIR: join(dir, 'data'), CARAPACE_ENV_FILE: join(dir, 'carapace.env') };
    const r = await runCli(['status'], { cwd: tmpdir(), env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Configuration problem: ${join(dir, 'carapace.env')} has lines that are not settings:\n  line 2: expected NAME=value`);
  });

  it('a bad value from .env names the setting; a good one is used whatever the working directory', async () => {
    const dir = tempDir('carapace-goodenv-');
    const env = { PATH: process.env.PATH, HOME: dir, CARAPACE_ENV_FILE: join(dir, 'carapace.env') };
    writeFileSync(join(dir, 'carapace.env'), `LOG_LEVEL=loud\nCARAPACE_DATA_DIR=${join(dir, 'data')}\n`);
    const bad = await runCli(['status'], { cwd: '/', env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/);
    writeFileSync(join(dir, 'carapace.env'), `CARAPACE_DATA_DIR=${join(dir, 'data')}\n`);
    const good = await runCli(['status'], { cwd: '/', env });
    expect(good).toMatchObject({ code: 0, stderr: '' });
    expect(good.stdout).toContain(`No data yet at ${join(dir, 'data')}`);
  });
});
