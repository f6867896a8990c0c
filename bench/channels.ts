// Every chat channel's host overhead in one run, side by side: a message arriving through the platform's wire fake
// → the agent's request at the fake model (warm sandbox), and the model's last byte → the send at the fake.
import { channelsRss } from './channels-rss.js';
import { discordOverhead } from './discord.js';
import { messageToModel } from './message-to-model.js';
import { slackOverhead } from './slack.js';
import { stats } from './stats.js';
import { telegramOverhead } from './telegram.js';
import { whatsappOverhead } from './whatsapp.js';

const MESSAGES = Number(process.env.BENCH_CHANNEL_MESSAGES ?? 40);

type ChannelRun = { inbound: number[]; outbound: number[]; window?: number[]; hostRssMb?: number };
type ChannelResult = { inbound: ReturnType<typeof stats>; outbound: ReturnType<typeof stats>; window?: ReturnType<typeof stats>; hostRssMb?: number };

const CHANNELS: { name: string; inbound: string; outbound: string; run: () => Promise<ChannelRun> }[] = [
  { name: 'whatsapp', inbound: 'WhatsApp message', outbound: 'WhatsApp sendMessage', run: () => whatsappOverhead(MESSAGES) },
  { name: 'telegram', inbound: 'Telegram update', outbound: 'Telegram sendMessage', run: () => telegramOverhead(MESSAGES, messageToModel) },
  { name: 'slack', inbound: 'Slack event', outbound: 'Slack chat.postMessage', run: () => slackOverhead() },
  { name: 'discord', inbound: 'Discord MESSAGE_CREATE', outbound: 'Discord message create', run: () => discordOverhead() },
];

export async function channelSections(): Promise<Record<string, ChannelResult> & { hostRss?: Awaited<ReturnType<typeof channelsRss>> }> {
  const result: Record<string, ChannelResult> & { hostRss?: Awaited<ReturnType<typeof channelsRss>> } = {};
  for (const channel of CHANNELS) {
    const run = await channel.run();
    result[channel.name] = {
      inbound: stats(run.inbound),
      outbound: stats(run.outbound),
      ...(run.window ? { window: stats(run.window) } : {}),
      ...(run.hostRssMb ? { hostRssMb: run.hostRssMb } : {}),
    };
    console.log(`${channel.inbound} → model request, warm (ms)`, result[channel.name].inbound);
    console.log(`model's last byte → ${channel.outbound}, warm (ms)`, result[channel.name].outbound);
    if (run.window) console.log(`${channel.outbound} accepted → outbox row marked sent (the at-least-once window, ms)`, result[channel.name].window);
  }
  result.hostRss = await channelsRss();
  console.log('host RSS of `carapace start`, idle (MB): no channel', result.hostRss.noChannelMb, 'Telegram + Slack + Discord connected', result.hostRss.threeBotChannelsMb);
  return result;
}
