// Network loss per channel (issue 17 item 7), with shortened settings standing in for ten minutes: while the
// platform is unreachable the channel makes a bounded number of attempts (backoff with jitter to a cap), changes
// its status once, burns no CPU waiting, and is back within one backoff step of the network's return.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { BOT, FakeDiscord, TOKEN } from './support/fake-discord.js';
import { RecordingHost } from './support/discord-host.js';
import { until } from './support/wait.js';

const OUTAGE_MS = 12_000;
const BASE_MS = 1_000;
const CAP_MS = 4_000;

/** Log lines at info and above, as the owner would read them. */
function capturingLog() {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
  return { log, lines };
}

let fake: FakeDiscord | undefined;
let channel: DiscordChannel | undefined;
afterEach(async () => {
  await channel?.disconnect();
  await fake?.close();
  channel = fake = undefined;
});

describe('network loss', () => {
  it('Discord: bounded attempts with backoff to a cap, one status change, idle CPU, back within one step', { timeout: 40_000 }, async () => {
    fake = await new FakeDiscord().start();
    fake.guilds = [{ id: '700000000000000001', name: 'Home', channels: [{ id: '710000000000000001', name: 'general' }] }];
    const { log, lines } = capturingLog();
    const host = new RecordingHost();
    channel = new DiscordChannel({ token: TOKEN, account: '@carapace', applicationId: BOT.id, apiUrl: fake.apiUrl, maxMediaBytes: 1024, assistantName: 'Andy', log, retryBaseMs: BASE_MS, retryMaxMs: CAP_MS });
    await channel.connect(host.sink, host);
    await until(() => channel!.health().state === 'connected', 10_000);
    const linesBefore = lines.length;

    fake.gatewayDown = true;
    fake.drop();
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const cpu = process.cpuUsage(cpuBefore);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
    const attempts = fake.refused;
    const during = lines.slice(linesBefore);
    expect(channel.health().state).toBe('offline');

    fake.gatewayDown = false;
    const back = performance.now();
    await until(() => channel!.health().state === 'connected', CAP_MS + 3_000, () => `reconnected, health ${JSON.stringify(channel!.health())}`);
    const recoveryMs = performance.now() - back;
    console.log(`discord outage ${OUTAGE_MS / 1000} s: ${attempts} attempts, ${during.length} log lines, CPU ${(cpuShare * 100).toFixed(2)}%, back in ${Math.round(recoveryMs)} ms`);

    // discord.js alone tries every 500 ms: 24 attempts here. With backoff (1, 2, 4, 4 … s, jittered) at most 8.
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(8);
    expect(during.filter((l) => /^Discord: /.test(l))).toHaveLength(1);
    expect(during[0]).toMatch(/gateway connection lost/);
    expect(cpuShare).toBeLessThan(0.02);
    expect(recoveryMs).toBeLessThan(CAP_MS + 1_500);
  });
});
