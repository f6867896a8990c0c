// `carapace channel add|list|remove telegram` through the real CLI against the fake Bot API: the token from a
// file, the environment or the prompt, proved with getMe, saved owner-only; a wrong token gets a clear error and
// saves nothing.
import { statSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT, FakeTelegram, TOKEN } from './support/fake-telegram.js';
import { sandboxReadableTempDir, testEnv } from './support/harness.js';
import { runCli, spawnCli } from './support/run-cli.js';
import { until } from './support/wait.js';

let fake: FakeTelegram;
beforeAll(async () => {
  fake = await new FakeTelegram().start();
});
afterAll(() => fake.close());

function setup(extra: Record<string, string> = {}) {
  const dataDir = sandboxReadableTempDir('carapace-tg-setup-');
  const env = { PATH: process.env.PATH, ...testEnv(dataDir, 'http://127.0.0.1:9', { TELEGRAM_API_ROOT: fake.url, ...extra }) };
  const saved = join(dataDir, 'channels', 'telegram.json');
  return { dataDir, env, saved, cli: (args: string[]) => runCli(args, { cwd: dataDir, env }) };
}

describe('carapace channel add telegram', () => {
  it('reads the token from --token-file, proves it with getMe, saves it owner-only; list shows the bot; remove forgets it', async () => {
    const { dataDir, saved, cli } = setup();
    writeFileSync(join(dataDir, 'token'), `${TOKEN}\n`);
    const add = await cli(['channel', 'add', 'telegram', '--token-file', join(dataDir, 'token')]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain(`@${BOT.username} (${BOT.first_name})`);
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual({ account: '@carapace_test_bot', token: TOKEN, botId: BOT.id, username: BOT.username, name: 'Carapace' });
    const list = await cli(['channel', 'list']);
    expect(list.stdout).toMatch(/telegram.*@carapace_test_bot/);
    const pair = await cli(['channel', 'pair', 'telegram']);
    expect(pair.stdout).toMatch(/@carapace_test_bot in a direct message on Telegram/);
    expect((await cli(['channel', 'remove', 'telegram'])).code).toBe(0);
    expect(existsSync(saved)).toBe(false);
  });

  it('takes TELEGRAM_BOT_TOKEN, or the token typed at the prompt', async () => {
    const fromEnv = setup({ TELEGRAM_BOT_TOKEN: TOKEN });
    expect((await fromEnv.cli(['channel', 'add', 'telegram'])).code).toBe(0);
    expect(existsSync(fromEnv.saved)).toBe(true);
    const typed = setup();
    const { proc, done } = spawnCli(['channel', 'add', 'telegram'], { cwd: typed.dataDir, env: typed.env });
    proc.stdin!.end(`${TOKEN}\n`);
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(typed.saved)).toBe(true);
  });

  it('a token Telegram refuses, or one that is no token at all, is a clear error and nothing is saved', async () => {
    const wrong = setup({ TELEGRAM_BOT_TOKEN: '7000001:AAWrongTokenWrongTokenWrong' });
    const refused = await wrong.cli(['channel', 'add', 'telegram']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Telegram refused this bot token \(401 Unauthorized\).*@BotFather/s);
    expect(existsSync(wrong.saved)).toBe(false);
    const garbage = setup({ TELEGRAM_BOT_TOKEN: 'hello' });
    const bad = await garbage.cli(['channel', 'add', 'telegram']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a Telegram bot token/);
  });

  it('--webhook saves the address, the local port and a fresh secret; a plain-HTTP public address is refused', async () => {
    const hook = setup({ TELEGRAM_BOT_TOKEN: TOKEN });
    const add = await hook.cli(['channel', 'add', 'telegram', '--webhook', 'https://bot.example.org/tg', '--webhook-port', '9000']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/webhook at https:\/\/bot\.example\.org\/tg \(forward it to 127\.0\.0\.1:9000\)/);
    expect(JSON.parse(readFileSync(hook.saved, 'utf8')).webhook).toEqual({ url: 'https://bot.example.org/tg', port: 9000, secret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const plain = setup({ TELEGRAM_BOT_TOKEN: TOKEN });
    const refused = await plain.cli(['channel', 'add', 'telegram', '--webhook', 'http://bot.example.org/tg']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--webhook needs an https:\/\/ address/);
    expect(existsSync(plain.saved)).toBe(false);
  });
});

describe('channel add|remove while Carapace runs', () => {
  it('connects the new bot at once and disconnects it on remove, without a restart', async () => {
    const { startChildCarapace } = await import('./support/child-carapace.js');
    const { startFakeAnthropic } = await import('./support/fake-anthropic.js');
    const model = await startFakeAnthropic();
    const { dataDir } = setup();
    const child = await startChildCarapace(dataDir, model.url, { TELEGRAM_API_ROOT: fake.url });
    const env = { PATH: process.env.PATH, ...testEnv(dataDir, model.url, { TELEGRAM_API_ROOT: fake.url, CARAPACE_WEB_PORT: new URL(child.url).port }) };
    const liveCli = (args: string[]) => runCli(args, { cwd: dataDir, env });
    try {
      writeFileSync(join(dataDir, 'token'), `${TOKEN}\n`);
      const polls = fake.calls.filter((c) => c === 'getUpdates').length;
      const add = await liveCli(['channel', 'add', 'telegram', '--token-file', join(dataDir, 'token')]);
      expect(add.stdout).toMatch(/The running Carapace connected it/);
      await until(() => fake.calls.filter((c) => c === 'getUpdates').length > polls, 10_000, () => 'polling started');
      const list = JSON.parse((await liveCli(['channel', 'list', '--json'])).stdout);
      expect(list.find((c: { name: string }) => c.name === 'telegram').health.state).toBe('connected');
      const remove = await liveCli(['channel', 'remove', 'telegram']);
      expect(remove.stdout).toMatch(/The running Carapace disconnected it/);
      const after = JSON.parse((await liveCli(['channel', 'list', '--json'])).stdout);
      expect(after.find((c: { name: string }) => c.name === 'telegram')).toMatchObject({ account: null, health: null });
    } finally {
      await child.kill('SIGTERM');
      await model.close();
    }
  });
});
