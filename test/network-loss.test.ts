// Network loss per channel (issue 17 item 7), with shortened settings standing in for ten minutes (backoff from
// 1 s to a 4 s cap, a 12 s outage): while the platform is unreachable the channel makes a bounded number of
// attempts (backoff with jitter to the cap), changes its status once, burns no CPU waiting, and is back within one
// backoff step of the network's return.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel, ChannelHealth } from '../src/channels/channel.js';
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { SlackChannel } from '../src/channels/slack/slack-channel.js';
import { BOT, FakeDiscord, TOKEN } from './support/fake-discord.js';
import { RecordingHost } from './support/discord-host.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack } from './support/fake-slack.js';
import { FakeWhatsApp, fakeWhatsAppChannel } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';
import { until } from './support/wait.js';

const OUTAGE_MS = 12_000;
const BASE_MS = 1_000;
const CAP_MS = 4_000;
/** Attempts the schedule allows in the outage: a quick retry, then steps of at least half of 1, 2, 4, 4 … s. */
const MAX_ATTEMPTS = 9;

/** Log lines at info and above, as the owner would read them. */
function capturingLog() {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
  return { log, lines };
}

interface Outage {
  channel: Channel & { health(): ChannelHealth };
  lines: string[];
  goDown(): void;
  goUp(): void;
  attempts(): number;
}

/** Take the network away for OUTAGE_MS and give it back; what the channel did meanwhile. */
async function outage(o: Outage) {
  await until(() => o.channel.health().state === 'connected', 10_000, () => `connected, health ${JSON.stringify(o.channel.health())}`);
  const linesBefore = o.lines.length;
  const attemptsBefore = o.attempts();
  o.goDown();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const cpu = process.cpuUsage(cpuBefore);
  const result = {
    attempts: o.attempts() - attemptsBefore,
    cpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore),
    stateDuring: o.channel.health().state,
    statusLines: o.lines.slice(linesBefore),
    recoveryMs: 0,
  };
  o.goUp();
  const back = performance.now();
  await until(() => o.channel.health().state === 'connected', CAP_MS + 3_000, () => `reconnected, health ${JSON.stringify(o.channel.health())}`);
  result.recoveryMs = performance.now() - back;
  return result;
}

function expectCalm(name: string, r: Awaited<ReturnType<typeof outage>>, statusLine: RegExp, minAttempts = 2) {
  console.log(`${name}: ${OUTAGE_MS / 1000} s outage, ${r.attempts} attempts, ${r.statusLines.length} status lines, CPU ${(r.cpuShare * 100).toFixed(2)}%, back in ${Math.round(r.recoveryMs)} ms`);
  expect(r.stateDuring).not.toBe('connected');
  expect(r.attempts, JSON.stringify(r.statusLines)).toBeGreaterThanOrEqual(minAttempts);
  expect(r.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
  expect(r.statusLines.filter((l) => statusLine.test(l)), JSON.stringify(r.statusLines)).toHaveLength(1);
  // A busy loop would take a whole core; the share itself (well under 2 % when the machine is quiet) is printed
  // above, since a loaded machine adds noise that a tight bound would turn into a flaky test.
  expect(r.cpuShare).toBeLessThan(0.5);
  expect(r.recoveryMs).toBeLessThan(CAP_MS + 1_500);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('network loss', () => {
  it('Discord: bounded gateway attempts with backoff (not discord.js\'s 500 ms), one status change, idle, back within a step', { timeout: 40_000 }, async () => {
    const fake = await new FakeDiscord().start();
    fake.guilds = [{ id: '700000000000000001', name: 'Home', channels: [{ id: '710000000000000001', name: 'general' }] }];
    const { log, lines } = capturingLog();
    const channel = new DiscordChannel({ token: TOKEN, account: '@carapace', applicationId: BOT.id, apiUrl: fake.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log, retryBaseMs: BASE_MS, retryMaxMs: CAP_MS });
    cleanups.push(() => fake.close(), () => channel.disconnect());
    await channel.connect(() => undefined, new RecordingHost());
    const r = await outage({ channel, lines, goDown: () => ((fake.gatewayDown = true), fake.drop()), goUp: () => void (fake.gatewayDown = false), attempts: () => fake.refused });
    expectCalm('discord', r, /^Discord: gateway connection lost/);
  });

  it('Slack: a refused Socket Mode reconnect is retried boundedly, one status change, idle, back within a step', { timeout: 40_000 }, async () => {
    const slack = new FakeSlack();
    await slack.start();
    const { log, lines } = capturingLog();
    const credentials = { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, team: 'Fake Team' };
    const channel = new SlackChannel({ credentials, apiUrl: slack.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log, retry: { baseMs: BASE_MS, maxMs: CAP_MS, authAttempts: 3 } });
    cleanups.push(() => slack.close(), () => channel.disconnect());
    await channel.connect(() => undefined, new RecordingHost() as never);
    const opens = () => slack.calls.filter((c) => c === 'apps.connections.open').length;
    const r = await outage({ channel, lines, goDown: () => ((slack.holdConnections = true), slack.drop()), goUp: () => void (slack.holdConnections = false), attempts: opens });
    // Slack answering internal_error: Bolt's socket-mode client retries on its own linear 5 s × n schedule.
    expectCalm('slack', r, /^Slack (connecting|offline)/, 1);
  });

  it('WhatsApp: bounded reconnects with backoff, one status change, idle, back within a step', { timeout: 40_000 }, async () => {
    const wa = new FakeWhatsApp();
    const { log, lines } = capturingLog();
    const config = testConfig(sandboxReadableTempDir('carapace-netloss-'), 'http://127.0.0.1:9');
    const channel = fakeWhatsAppChannel(wa, config, log, { backoff: { baseMs: BASE_MS, maxMs: CAP_MS, stableMs: 60_000 } });
    cleanups.push(() => channel.disconnect());
    await channel.connect(() => undefined);
    const goDown = () => {
      wa.network = 'down';
      void wa.current.end(new Error('read ECONNRESET'));
    };
    const r = await outage({ channel: channel as Outage['channel'], lines, goDown, goUp: () => void (wa.network = 'up'), attempts: () => wa.sockets.length });
    expectCalm('whatsapp', r, /^WhatsApp/);
  });
});
