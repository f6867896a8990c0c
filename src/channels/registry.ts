// Every platform channel Carapace has. A new one is a folder under src/channels/<name>/ implementing Channel,
// with a ChannelPlugin, and one line here. (The local chat is not listed: it is always there, built by app.ts.)
import type { ChannelPlugin } from './channel.js';
import { discordPlugin } from './discord/plugin.js';
import { slackPlugin } from './slack/plugin.js';
import { telegramPlugin } from './telegram/plugin.js';
import { whatsappPlugin } from './whatsapp/plugin.js';

export const CHANNEL_PLUGINS: readonly ChannelPlugin[] = [whatsappPlugin, telegramPlugin, slackPlugin, discordPlugin];
