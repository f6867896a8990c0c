// A Discord message as Carapace stores it: mentions written as names ("<@123>" → "@Andy" for the bot, the member's
// name otherwise), embeds summarised as text, attachments saved under media/ and referenced by their sandbox path.
// Where it goes is decided here too: the owner's DM and registered channels (and their threads) go to the sink;
// a stranger's DM only to the host's pairing check; any other channel is recorded by name only.
import { ChannelType, type Message } from 'discord.js';
import type { ChannelHost, InboundMessage, InboundSink } from '../channel.js';
import { chatIdOf, serverChannel } from './ids.js';
import { saveAttachment } from './media.js';
import { DISCORD } from './setup.js';

export interface InboundContext {
  host: ChannelHost;
  sink: InboundSink;
  botId: string;
  assistantName: string;
  maxMediaBytes: number;
  /** Hosts attachments may be downloaded from. */
  mediaHosts: Set<string>;
}

/**
 * A mention of the bot, or a reply to the bot's message: the platform's way of addressing the assistant. Never
 * from another bot, so two bots replying to each other cannot keep each other going.
 */
export function isAddressed(message: Message, botId: string): boolean {
  if (message.author.bot) return false;
  return message.mentions.users.has(botId) || message.mentions.repliedUser?.id === botId;
}

/** The text with mentions as names and each embed as a line: "[embed: title — description (url)]". */
export function messageText(message: Message, botId: string, assistantName: string): string {
  const text = message.content
    .replace(/<@!?(\d+)>/g, (raw, id: string) => {
      if (id === botId) return `@${assistantName}`;
      const user = message.mentions.users.get(id);
      return user ? `@${user.displayName}` : raw;
    })
    .replace(/<#(\d+)>/g, (raw, id: string) => {
      const channel = message.mentions.channels.get(id);
      return channel && 'name' in channel && channel.name ? `#${channel.name}` : raw;
    })
    .replace(/<@&(\d+)>/g, (raw, id: string) => {
      const role = message.mentions.roles.get(id);
      return role ? `@${role.name}` : raw;
    });
  const embeds = message.embeds.map((e) => {
    const parts = [e.title, e.description, ...e.fields.map((f) => `${f.name}: ${f.value}`)].filter(Boolean).join(' — ');
    return `[embed: ${parts || 'no text'}${e.url ? ` (${e.url})` : ''}]`;
  });
  return [text, ...embeds].filter(Boolean).join('\n');
}

function base(message: Message, ctx: InboundContext, chatId: string, text: string): InboundMessage {
  return {
    chatId,
    platformId: message.id,
    senderId: message.author.id,
    senderName: message.member?.displayName ?? message.author.displayName,
    text,
    timestamp: message.createdTimestamp,
    chatName: 'name' in message.channel && message.channel.name ? message.channel.name : undefined,
    addressed: isAddressed(message, ctx.botId),
  };
}

/** Downloads the attachments into the chat's folder; a refusal the folder gave is told to the chat once. */
async function withAttachments(message: Message, ctx: InboundContext, chatId: string, text: string): Promise<string> {
  const folder = ctx.host.groupFolder(chatId);
  if (!folder || message.attachments.size === 0) return text;
  const lines: string[] = [];
  for (const attachment of message.attachments.values()) {
    const saved = await saveAttachment(message.id, attachment, message.createdTimestamp, folder, { maxBytes: ctx.maxMediaBytes, hosts: ctx.mediaHosts });
    if (!saved.ok && saved.refused) ctx.host.notice(chatId, `dc-media-${message.id}-${attachment.id}`, `The file ${attachment.name} could not be saved for me: ${saved.line}`);
    lines.push(saved.line);
  }
  return [text, ...lines].filter(Boolean).join('\n'); // text first: a trigger word stays at the start
}

/** The chat a guild message belongs to for Carapace: its channel, or its thread once the thread is opened. */
function guildChat(message: Message, ctx: InboundContext, text: string): string | undefined {
  const { channel } = message;
  const chatId = chatIdOf(channel.id);
  if (ctx.host.isRegistered(chatId)) return chatId;
  if (channel.isThread() && channel.parentId) {
    const parent = chatIdOf(channel.parentId);
    const asked = isAddressed(message, ctx.botId) || text.toLowerCase().includes(`@${ctx.assistantName.toLowerCase()}`);
    if (asked && ctx.host.openThread(parent, { chatId, name: channel.name, isGroup: true })) return chatId;
    if (ctx.host.isRegistered(parent)) return undefined; // a thread nobody asked the bot into
  }
  if (!channel.isThread() && message.inGuild()) ctx.host.chatsSeen([serverChannel(message.guild.name, message.channel)]);
  return undefined;
}

/** A DM: the owner's goes to the sink; anyone else's only to the pairing check, answered directly. */
async function directMessage(message: Message, ctx: InboundContext, text: string): Promise<string | undefined> {
  const chatId = chatIdOf(message.channelId);
  if (ctx.host.owner(DISCORD)?.userId === message.author.id) return chatId;
  const sender = { userId: message.author.id, name: message.author.displayName };
  const verdict = ctx.host.strangerDm(DISCORD, sender, { chatId, name: message.author.displayName, isGroup: false }, text);
  if (verdict.reply && message.channel.isSendable()) await message.channel.send({ content: verdict.reply, allowedMentions: { parse: [] } });
  return undefined;
}

/** Hands one new message over, or records only what is allowed; `edited` marks an edit of an earlier one. */
export async function receive(message: Message, ctx: InboundContext, edited = false): Promise<void> {
  if (message.author.id === ctx.botId || message.system) return;
  let text = messageText(message, ctx.botId, ctx.assistantName);
  const chatId = message.channel.type === ChannelType.DM ? await directMessage(message, ctx, text) : guildChat(message, ctx, text);
  if (!chatId) return;
  if (!edited) text = await withAttachments(message, ctx, chatId, text);
  const inbound = base(message, ctx, chatId, text);
  if (edited) {
    inbound.platformId = `${message.id}:edit:${message.editedTimestamp ?? Date.now()}`;
    inbound.text = `[edited] ${text}`;
    inbound.timestamp = message.editedTimestamp ?? Date.now();
  }
  ctx.sink(inbound);
}
