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

const CHANNELS: { name: string; inbound: string; outbound: string; run: () => Promise<{ inbound: number[]; outbound: number[]; hostRssMb?: number }> }[] = [
  { name: 'whatsapp', inbound: 'WhatsApp message', outbound: 'WhatsApp sendMessage', run: () => whatsappOverhead(MESSAGES) },
  { name: 'telegram', inbound: 'Telegram update', outbound: 'Telegram sendMessage', run: () => telegramOverhead(MESSAGES, messageToModel) },
  { name: 'slack', inbound: 'Slack event', outbound: 'Slack chat.postMessage', run: () => slackOverhead() },
  { name: 'discord', inbound: 'Discord MESSAGE_CREATE', outbound: 'Discord message create', run: () => discordOverhead() },
];

type ChannelFigures = Record<string, { inbound: ReturnType<typeof stats>; outbound: ReturnType<typeof stats>; hostRssMb?: number }>;

export async function channelSections(): Promise<ChannelFigures & { hostRss?: Awaited<ReturnType<typeof channelsRss>> }> {
  const result: ChannelFigures & { hostRss?: Awaited<ReturnType<typeof channelsRss>> } = {};
  for (const channel of CHANNELS) {
    const run = await channel.run();
    result[channel.name] = { inbound: stats(run.inbound), outbound: stats(run.outbound), ...(run.hostRssMb ? { hostRssMb: run.hostRssMb } : {}) };
    console.log(`${channel.inbound} → model request, warm (ms)`, result[channel.name].inbound);
    console.log(`model's last byte → ${channel.outbound}, warm (ms)`, result[channel.name].outbound);
  }
  result.hostRss = await channelsRss();
  console.log('host RSS of `carapace start`, idle (MB): no channel', result.hostRss.noChannelMb, 'Telegram + Slack + Discord connected', result.hostRss.threeBotChannelsMb);
  return result;
}
