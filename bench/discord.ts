// Discord overhead, through the real discord.js client against the fake Discord: a MESSAGE_CREATE dispatched on
// the gateway → the model request it causes (warm sandbox), and the model's last byte → the message create at
// the fake's REST API. Also the host's RSS with the channel connected.
import { DiscordChannel } from '../src/channels/discord/discord-channel.js';
import { BOT, FakeDiscord, message, TOKEN } from '../test/support/fake-discord.js';
import { startHarness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';

const MESSAGES = Number(process.env.BENCH_DISCORD ?? 40);
const CHANNEL = '710000000000000001';
const GUILD = '700000000000000001';

export async function discordOverhead(): Promise<{ inbound: number[]; outbound: number[]; hostRssMb: number }> {
  const fake = await new FakeDiscord().start();
  fake.guilds = [{ id: GUILD, name: 'Bench', channels: [{ id: CHANNEL, name: 'bench' }] }];
  const h = await startHarness({
    channels: (config, log) => [
      new DiscordChannel({ token: TOKEN, account: '@carapace', applicationId: BOT.id, apiUrl: fake.apiUrl, maxMediaBytes: 1 << 20, assistantName: config.assistantName, log }),
    ],
  });
  try {
    h.app.orchestrator.registerGroup({ channel: 'dc', chatId: `dc:${CHANNEL}`, name: 'bench', folder: 'bench', trigger: '@Andy', requiresTrigger: false, isMain: false });
    while (!fake.connected) await new Promise((r) => setTimeout(r, 20));
    const inbound: number[] = [];
    const outbound: number[] = [];
    for (let i = 0; i < MESSAGES + 5; i++) {
      const payload = message({ id: fake.snowflake(), channel_id: CHANNEL, guild_id: GUILD, author: { id: '800000000000000002', username: 'bob' }, content: `discord message ${i}` });
      inbound.push(await messageToModel(h, () => fake.dispatch('MESSAGE_CREATE', payload)));
      while (fake.sent.length < i + 1) await new Promise((r) => setTimeout(r, 2));
      outbound.push(fake.sent[i].at - h.fake.requests.filter((r) => r.kind === 'main').at(-1)!.respondedAt!);
    }
    const hostRssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
    return { inbound: inbound.slice(5), outbound: outbound.slice(5), hostRssMb }; // the first turns warm the CLI up
  } finally {
    await h.close();
    await fake.close();
  }
}
