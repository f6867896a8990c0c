// The host's memory with the bot channels connected, measured on the real `carapace start` in a child process (so
// the bench's own fakes and model server are not counted): VmRSS once idle with no channel, and once idle with
// Telegram, Slack and Discord connected to their wire fakes. The channels are set up as a user would, with
// `carapace channel add`. (WhatsApp's fake is an in-process socket, so it is not in this figure.)
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ROOT } from '../src/app-root.js';
import { startFakeAnthropic } from '../test/support/fake-anthropic.js';
import { FakeDiscord, TOKEN as DISCORD_TOKEN } from '../test/support/fake-discord.js';
import { APP_TOKEN, BOT_TOKEN, FakeSlack } from '../test/support/fake-slack.js';
import { FakeTelegram, TOKEN as TELEGRAM_TOKEN } from '../test/support/fake-telegram.js';
import { sandboxReadableTempDir, testEnv } from '../test/support/harness.js';
import { freePort } from '../test/support/run-cli.js';

const BIN = join(APP_ROOT, 'bin', 'carapace.js');
const IDLE_MS = Number(process.env.BENCH_RSS_IDLE_MS ?? 5000);

const cli = (args: string[], env: Record<string, string>, input: string) =>
  new Promise<void>((resolve, reject) => {
    const child = execFile(process.execPath, [BIN, ...args], { env }, (err, _out, stderr) => (err ? reject(new Error(`${args.join(' ')}: ${stderr}`)) : resolve()));
    child.stdin!.end(input);
  });

const vmRssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Start Carapace, wait until `ready` says so and the process has idled, and read its RSS. */
async function idleRss(env: Record<string, string>, ready: (channels: Record<string, { state: string }>) => boolean): Promise<number> {
  const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const token = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /#token=(\S+)/.exec(stderr);
        if (m) resolve(m[1]);
        if (child.exitCode !== null) reject(new Error(`carapace exited: ${stderr}`));
      }, 50);
      child.once('exit', () => clearInterval(timer));
      void new Promise((r) => setTimeout(r, 30_000)).then(() => (clearInterval(timer), reject(new Error(`no start: ${stderr}`))));
    });
    const url = `http://127.0.0.1:${env.CARAPACE_WEB_PORT}/api/channels`;
    for (;;) {
      const health = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, { state: string }>;
      if (ready(health)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return Math.round(vmRssMb(child.pid!));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

export async function channelsRss(): Promise<{ noChannelMb: number; threeBotChannelsMb: number }> {
  const model = await startFakeAnthropic();
  const telegram = await new FakeTelegram().start();
  const slack = new FakeSlack();
  await slack.start();
  const discord = await new FakeDiscord().start();
  try {
    const envFor = async (dataDir: string) => ({
      PATH: process.env.PATH ?? '',
      ...testEnv(dataDir, model.url, { TELEGRAM_API_ROOT: telegram.url, SLACK_API_URL: slack.apiUrl, DISCORD_API_URL: discord.apiUrl, CARAPACE_WEB_PORT: String(await freePort()) }),
    });
    const bare = await envFor(sandboxReadableTempDir('carapace-rss-'));
    const noChannelMb = await idleRss(bare, () => true);
    const full = await envFor(sandboxReadableTempDir('carapace-rss-'));
    await cli(['channel', 'add', 'telegram'], full, `${TELEGRAM_TOKEN}\n`);
    await cli(['channel', 'add', 'slack'], full, `${APP_TOKEN}\n${BOT_TOKEN}\n`);
    await cli(['channel', 'add', 'discord'], full, `${DISCORD_TOKEN}\n`);
    const all = ['telegram', 'slack', 'discord'];
    const threeBotChannelsMb = await idleRss(full, (h) => all.every((name) => h[name]?.state === 'connected'));
    return { noChannelMb, threeBotChannelsMb };
  } finally {
    await Promise.all([model.close(), telegram.close(), slack.close(), discord.close()]);
  }
}
