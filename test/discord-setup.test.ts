// `carapace channel add discord` through the plug-in's setup, against the fake Discord's REST API.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SetupError, type SetupIO } from '../src/channels/channel.js';
import { discordPlugin } from '../src/channels/discord/plugin.js';
import { readDiscordCredentials } from '../src/channels/discord/setup.js';
import { dataPaths } from '../src/fs/paths.js';
import { BOT, FakeDiscord, TOKEN } from './support/fake-discord.js';
import { RecordingHost } from './support/discord-host.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';
import { until } from './support/wait.js';

let fake: FakeDiscord;
afterEach(async () => {
  await fake?.close();
  delete process.env.DISCORD_BOT_TOKEN;
});

async function io(answers: string[] = []) {
  fake = await new FakeDiscord().start();
  const dataDir = sandboxReadableTempDir('carapace-dc-setup-');
  const config = testConfig(dataDir, 'http://127.0.0.1:9', { DISCORD_API_URL: fake.apiUrl });
  const out: string[] = [];
  const asked: string[] = [];
  const setupIo: SetupIO = { out: { write: (t) => out.push(t) }, ask: async (q) => (asked.push(q), answers.shift() ?? ''), config };
  return { setupIo, out, asked, config, dataDir };
}

describe('Discord setup', () => {
  const setup = discordPlugin.setup!;

  it('explains the intents, proves a pasted token, saves it owner-only and prints a minimal invite link', async () => {
    const { setupIo, out, asked, config } = await io([TOKEN]);
    expect(setup.addHelp).toMatch(/Message Content Intent/);
    expect(setup.addHelp).toMatch(/Guild Messages and Direct Messages/);
    expect(discordPlugin.enabled(config)).toBe(false);
    await expect(setup.add({}, setupIo)).resolves.toBe(`@carapace (${BOT.id})`);
    expect(asked).toEqual(['Discord bot token']);
    expect(out.join('')).toContain(`https://discord.com/oauth2/authorize?client_id=${BOT.id}&scope=bot&permissions=274878008320`);
    expect(readDiscordCredentials(config)).toMatchObject({ account: '@carapace', token: TOKEN, botId: BOT.id });
    expect(statSync(dataPaths(config.dataDir).channelSecrets('discord')).mode & 0o777).toBe(0o600);
    expect(discordPlugin.enabled(config)).toBe(true);
    expect(setup.account(config)).toBe('@carapace');
    expect(setup.pairHint(config)).toBe('@carapace in a direct message on Discord');
    // The registry builds the channel from what was saved, and it connects with it.
    const channel = await discordPlugin.create(config, pino({ level: 'silent' }));
    const host = new RecordingHost();
    await channel.connect(host.sink, host);
    await until(() => channel.health!().state === 'connected', 10_000, () => JSON.stringify(channel.health!()));
    await channel.disconnect();
    setup.remove(config);
    expect(discordPlugin.enabled(config)).toBe(false);
  });

  it('a wrong token is refused with what to do and nothing is saved; the token file and env var are read', async () => {
    const { setupIo, config, dataDir } = await io();
    const file = join(dataDir, 'token');
    writeFileSync(file, 'not-the-token\n');
    const err = await setup.add({ tokenFile: file }, setupIo).catch((e) => e);
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toMatch(/refused the bot token \(401\).*Reset Token/);
    expect(readDiscordCredentials(config)).toBeUndefined();
    process.env.DISCORD_BOT_TOKEN = TOKEN;
    fake.messageContentIntent = false;
    const out: string[] = [];
    await setup.add({}, { ...setupIo, out: { write: (t) => out.push(t) } });
    expect(out.join('')).toMatch(/Message Content intent is off/);
  });
});
