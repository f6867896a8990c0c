// `carapace setup --non-interactive` and the model key checks of `start` and `doctor`, through the real CLI,
// against the fake model API (which refuses one key with 401) and a real bubblewrap self-test sandbox.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultScript, startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';
import { sandboxReadableTempDir } from './support/harness.js';
import { CARAPACE_BIN, runCli } from './support/run-cli.js';
import { haveTerminal, onTerminal } from './support/terminal.js';

const GOOD = 'sk-ant-api03-good-key-0123456789abcdef';
const BAD = 'sk-ant-api03-revoked-key-0123456789abcd';

let fake: FakeAnthropic;
let dir: string;
beforeAll(async () => {
  fake = await startFakeAnthropic({
    script: (req) =>
      req.headers['x-api-key'] === BAD ? { error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } } : defaultScript(req),
  });
  dir = sandboxReadableTempDir('carapace-setup-');
});
afterAll(() => fake?.close());

/** The environment of a fresh clone: no credential anywhere, only where things live. */
const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  HOME: join(dir, 'home'),
  ANTHROPIC_BASE_URL: fake.url,
  CARAPACE_DATA_DIR: join(dir, 'data'),
  CARAPACE_WEB_PORT: '0',
  ...extra,
});
const secretFile = (name: string, secret: string) => {
  const file = join(dir, name);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
};
/** A local port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
const envFile = () => join(dir, 'settings', '.env');
const setup = (args: string[], extra?: Record<string, string>) =>
  runCli(['setup', '--non-interactive', '--settings', envFile(), ...args], { cwd: dir, env: env(extra) });

describe('carapace setup --non-interactive', () => {
  it('proves the key with one real call and the sandbox with a real test sandbox, and saves both owner-only', async () => {
    mkdirSync(join(dir, 'settings'), { recursive: true });
    writeFileSync(envFile(), '# my own notes\nCARAPACE_TZ=Europe/Berlin\n', { mode: 0o644 });
    const before = fake.requests.length;
    const r = await setup(['--api-key-file', secretFile('key', GOOD), '--runtime', 'bwrap', '--assistant-name', 'Ava']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\[1\/5\] Model access\n.*\n  ✔ model API works \(claude-sonnet-4-5 answered in \d+ ms\)/);
    expect(r.stdout).toMatch(/✔ bwrap works: a test sandbox ran Node\.js in \d+ ms/);
    expect(r.stdout).toContain('✔ the assistant is called Ava');
    expect(r.stdout).not.toContain(GOOD);
    const check = fake.requests.slice(before).filter((q) => q.path === '/v1/messages');
    expect(check).toHaveLength(1);
    expect(check[0].headers['x-api-key']).toBe(GOOD);
    expect(check[0].body.max_tokens).toBe(1);
    expect(statSync(envFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile(), 'utf8')).toBe(
      `# my own notes\nCARAPACE_TZ=Europe/Berlin\nANTHROPIC_API_KEY=${GOOD}\nCARAPACE_RUNTIME=bwrap\nASSISTANT_NAME=Ava\n`,
    );
  });

  it('re-running shows what is done, checks it again and changes nothing else', async () => {
    const saved = readFileSync(envFile(), 'utf8');
    const r = await setup([]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('model credential: saved (sk-ant-…cdef)');
    expect(r.stdout).toContain('sandbox:          CARAPACE_RUNTIME=bwrap');
    expect(r.stdout).toContain('assistant name:   Ava');
    expect(r.stdout).toContain('✔ model API works');
    expect(readFileSync(envFile(), 'utf8')).toBe(saved);
  });

  it('refuses a key the API rejects, naming the fix, and does not save it', async () => {
    const saved = readFileSync(envFile(), 'utf8');
    const r = await setup(['--api-key-file', secretFile('bad', BAD)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✘ model API: the model API rejected the key or token \(HTTP 401: invalid, revoked or expired\) — “invalid x-api-key”/);
    expect(r.stderr).toMatch(/^Setup stopped: .*HTTP 401.*Fix: put a valid ANTHROPIC_API_KEY/);
    expect(readFileSync(envFile(), 'utf8')).toBe(saved);
  });

  it('says what is missing: no key at all, an unknown backend, no terminal to ask on', async () => {
    const fresh = ['--settings', join(dir, 'fresh.env')];
    const none = await runCli(['setup', '--non-interactive', ...fresh], { cwd: dir, env: env() });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No model credential: pass --api-key-file <file> (or --oauth-token-file <file>).');
    const lxc = await runCli(['setup', '--non-interactive', '--runtime', 'lxc', ...fresh], { cwd: dir, env: env() });
    expect(lxc.code).toBe(2);
    expect(lxc.stderr).toMatch(/--runtime.*lxc.*Allowed choices are auto, bwrap, docker, podman, apple/);
    const asking = await runCli(['setup', ...fresh], { cwd: dir, env: env() });
    expect(asking.code).toBe(2);
    expect(asking.stderr).toMatch(/needs a terminal; for scripts use --non-interactive/);
  });
});

describe.runIf(haveTerminal)('carapace setup on a terminal', () => {
  it('asks for the key masked, proves it, offers the working backends and the name, and saves them', async () => {
    const settings = join(dir, 'asked.env');
    const key = 'sk-ant-api03-typed-key-0123456789abcdef';
    const { code, screen } = await onTerminal(['node', CARAPACE_BIN, 'setup', '--settings', settings], env(), [
      [/API key or OAuth token:/, `${key}\r`],
      [/Which sandbox should run the agents\?/, '\r'], // the default: the setting (auto)
      [/What should the assistant be called\?/, 'Zed\r'],
      [/Set up telegram now\?/, '\r'], // each bot channel is offered; default: no
      [/Set up slack now\?/, '\r'],
      [/Set up discord now\?/, '\r'],
      [/Link WhatsApp now/, '\r'], // default: no
      [/Run Carapace as a service/, 'n\r'],
    ]);
    expect(code, screen).toBe(0);
    expect(screen).not.toContain(key); // typed, shown as *
    expect(screen).toMatch(/API key or OAuth token: \*{39}/);
    expect(screen).toMatch(/auto \(now: bwrap\)/);
    expect(screen).toMatch(/✔ bwrap works: a test sandbox ran Node\.js/);
    expect(readFileSync(settings, 'utf8')).toBe(`ANTHROPIC_API_KEY=${key}\nCARAPACE_RUNTIME=auto\nASSISTANT_NAME=Zed\n`);
    expect(statSync(settings).mode & 0o777).toBe(0o600);
  });
});

describe('start and doctor check the key with a real request', () => {
  it('`start` with a rejected key stops at once and says what to fix; doctor says the same and exits 1', async () => {
    const t0 = performance.now();
    const start = await runCli(['start'], { cwd: dir, env: env({ ANTHROPIC_API_KEY: BAD, CARAPACE_RUNTIME: 'bwrap' }) });
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/^Carapace cannot start: model API: the model API rejected the key or token \(HTTP 401.*`carapace setup`/m);
    expect(performance.now() - t0).toBeLessThan(10_000);
    const doctor = await runCli(['doctor'], { cwd: dir, env: env({ ANTHROPIC_API_KEY: BAD, CARAPACE_RUNTIME: 'bwrap' }) });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/^model API: the model API rejected the key or token \(HTTP 401/m);
    const good = await runCli(['doctor', '--json'], { cwd: dir, env: env({ ANTHROPIC_API_KEY: GOOD, CARAPACE_RUNTIME: 'bwrap' }) });
    expect(good.code, good.stdout).toBe(0);
    expect(JSON.parse(good.stdout).model).toMatchObject({ ok: true, model: 'claude-sonnet-4-5' });
  });

  it('names an endpoint that is not the model API, and one that does not answer', async () => {
    const wrong = await runCli(['doctor'], { cwd: dir, env: env({ ANTHROPIC_API_KEY: GOOD, ANTHROPIC_BASE_URL: `${fake.url}/not-here`, CARAPACE_RUNTIME: 'bwrap' }) });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/model API: .*\/not-here\/v1\/messages answered HTTP 404: ANTHROPIC_BASE_URL does not point at an Anthropic-compatible API\./);
    const port = await closedPort();
    const closed = await runCli(['doctor'], { cwd: dir, env: env({ ANTHROPIC_API_KEY: GOOD, ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`, CARAPACE_RUNTIME: 'bwrap' }) });
    expect(closed.code).toBe(1);
    expect(closed.stdout).toContain(`model API: cannot reach http://127.0.0.1:${port}/v1/messages: ECONNREFUSED. Check ANTHROPIC_BASE_URL`);
  });
});
