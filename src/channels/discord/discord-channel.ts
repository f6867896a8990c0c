// The Discord channel: a discord.js gateway client for what arrives, its REST client for what goes out. Guild
// channels the bot is in are listed for the main chat to register; registered ones (and threads opened in them)
// reach the agent, the owner's DM too; strangers' DMs go only to the pairing check.
import { ChannelType, Events, MessageFlags, type Guild, type Interaction, type Message, type PartialMessage } from 'discord.js';
import type { Logger } from 'pino';
import { readCardAction } from '../kit/card-action.js';
import { TypingLoop } from '../kit/typing-loop.js';
import { ChannelUnavailableError, type Card, type Channel, type ChannelHealth, type ChannelHost, type InboundSink, type OutboundFile, type SendOptions } from '../channel.js';
import { CatchUp } from './catch-up.js';
import { DiscordConnection } from './connection.js';
import { channelIdOf, chatIdOf, PREFIX, serverChannel } from './ids.js';
import { receive, type InboundContext } from './inbound.js';
import { attachmentHosts } from './media.js';
import { DiscordOutbound } from './outbound.js';
import { DISCORD } from './setup.js';

export interface DiscordChannelOptions {
  token: string;
  account: string;
  applicationId: string;
  apiUrl: string;
  maxMediaBytes: number;
  assistantName: string;
  log: Logger;
  /** Discord's typing indicator lasts 10 s. */
  typingRefreshMs?: number;
  retryBaseMs?: number;
}

/** Channels people write in, listed for registering (threads are opened from their parent instead). */
const LISTED = new Set<ChannelType>([ChannelType.GuildText, ChannelType.GuildAnnouncement]);

/** After a send found Discord unreachable while the gateway stayed up: when to let waiting replies try again. */
const REST_RETRY_MS = 30_000;

export class DiscordChannel implements Channel {
  readonly name = DISCORD;
  private readonly connection: DiscordConnection;
  private readonly outbound: DiscordOutbound;
  private readonly typing: TypingLoop;
  private readonly catchUp = new CatchUp();
  /** Per chat, the last message still being taken in: a later one waits for it (a download must not reorder). */
  private readonly tails = new Map<string, Promise<void>>();
  private host?: ChannelHost;
  private restRetry?: NodeJS.Timeout;
  /** Set by disconnect(): events discord.js still emits while it shuts down reach no host (its store may be closed). */
  private stopped = false;
  /** Takes in a message (new, edited or caught up), logging what fails. */
  private take?: (message: Message, edited?: boolean) => Promise<void>;

  constructor(private readonly opts: DiscordChannelOptions) {
    this.connection = new DiscordConnection({ ...opts, onReady: (fresh) => this.onReady(fresh) });
    this.outbound = new DiscordOutbound(this.connection.client.rest, () => this.retryLater());
    this.typing = new TypingLoop((chatId) => this.outbound.typing(chatId), opts.typingRefreshMs ?? 8000);
  }

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    if (!host) throw new Error('The Discord channel needs the channel host (pairing, registered chats).');
    this.host = host;
    for (const { chatId, platformId } of host.newestStored?.(PREFIX) ?? []) this.catchUp.seen({ channelId: channelIdOf(chatId), id: platformId });
    const { client } = this.connection;
    const { assistantName, maxMediaBytes, apiUrl } = this.opts;
    const mediaHosts = attachmentHosts(apiUrl);
    const ctx = (): InboundContext => ({ host, sink, botId: client.user!.id, assistantName, maxMediaBytes, mediaHosts });
    this.take = async (message, edited = false) => {
      if (!this.stopped) await this.inOrder(message.channelId, () => receive(message, ctx(), edited));
    };
    client.on(Events.MessageCreate, (message) => {
      this.catchUp.seen(message);
      void this.take!(message);
    });
    client.on(Events.MessageUpdate, (before, after) => {
      if (editedText(before, after)) void this.take!(after as Message, true);
    });
    client.on(Events.InteractionCreate, (interaction) => void this.pressed(interaction, host));
    client.on(Events.ClientReady, () => {
      for (const guild of client.guilds.cache.values()) this.seeGuild(guild);
    });
    client.on(Events.GuildCreate, (guild) => {
      if (this.stopped) return;
      this.seeGuild(guild);
      host.tellMain(`dc-added-${guild.id}`, `I was added to the Discord server ${guild.name}; its channels are listed now, register one from here to use me there.`);
    });
    client.on(Events.ChannelCreate, (channel) => {
      if (LISTED.has(channel.type)) host.chatsSeen([serverChannel(channel.guild.name, channel)]);
    });
    this.connection.start();
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restRetry);
    this.typing.clear();
    await this.connection.stop();
  }

  owns(chatId: string): boolean {
    return chatId.startsWith(PREFIX);
  }

  health(): ChannelHealth {
    return this.connection.health();
  }

  async send(chatId: string, text: string, opts?: SendOptions): Promise<string> {
    this.assertUsable();
    return this.confirmed(await this.outbound.sendText(chatId, text, opts));
  }

  async sendFile(chatId: string, file: OutboundFile, opts?: SendOptions): Promise<string> {
    this.assertUsable();
    return this.confirmed(await this.outbound.sendFile(chatId, file, opts));
  }

  async sendCard(chatId: string, card: Card): Promise<string> {
    this.assertUsable();
    return this.confirmed(await this.outbound.sendCard(chatId, card));
  }

  /** A card's button: the host decides whether the presser may answer; only they see its verdict. */
  private async pressed(interaction: Interaction, host: ChannelHost): Promise<void> {
    if (!interaction.isButton()) return;
    const action = readCardAction(interaction.customId);
    if (!action) return;
    const text = await host.answer(action.cardId, action.choice, { channel: DISCORD, userId: interaction.user.id });
    await interaction.reply({ content: text, flags: MessageFlags.Ephemeral }).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'Discord: could not tell the presser what their button did');
    });
  }

  /**
   * A send that finished after disconnect() is not reported as done: the host is shutting down and may not
   * record it. The row stays pending and goes again on the next start, where its nonce makes it a no-op.
   */
  private confirmed(messageId: string): string {
    if (this.connection.health().state === 'stopped') throw new ChannelUnavailableError('Discord was disconnected before the send was recorded');
    return messageId;
  }

  async setTyping(chatId: string, typing: boolean): Promise<void> {
    await this.typing.set(chatId, typing && this.connection.ready);
  }

  /** REST works without the gateway, so only a stopped or refused connection holds replies back. */
  private assertUsable(): void {
    const { state, detail } = this.connection.health();
    if (state === 'failed' || state === 'stopped') throw new ChannelUnavailableError(`Discord is not connected: ${detail}`);
  }

  private inOrder(channelId: string, work: () => Promise<void>): Promise<void> {
    const run = (this.tails.get(channelId) ?? Promise.resolve())
      .then(work)
      .catch((err) => this.opts.log.warn({ err, chat: channelId }, 'Discord: could not take in a message'));
    this.tails.set(channelId, run);
    void run.then(() => this.tails.get(channelId) === run && this.tails.delete(channelId));
    return run;
  }

  /** Replies that waited can go; after a lost session, what was said meanwhile is fetched. */
  private onReady(fresh: boolean): void {
    this.host?.ready();
    const { host, take } = this;
    if (!fresh || !host || !take) return;
    this.catchUp
      .run(this.connection.client, (channelId) => host.isRegistered(chatIdOf(channelId)), take)
      .then((n) => n && this.opts.log.info({ messages: n }, 'Discord: caught up on messages sent while the session was lost'))
      .catch((err) => this.opts.log.warn({ err }, 'Discord: could not catch up after a lost session'));
  }

  private retryLater(): void {
    if (this.restRetry) return;
    this.restRetry = setTimeout(() => {
      this.restRetry = undefined;
      this.host?.ready();
    }, REST_RETRY_MS);
    this.restRetry.unref();
  }

  /** The guild's text channels, by name, for the main chat to register. */
  private seeGuild(guild: Guild): void {
    if (this.stopped) return;
    const chats = guild.channels.cache.filter((c) => LISTED.has(c.type)).map((c) => serverChannel(guild.name, c));
    if (chats.length) this.host?.chatsSeen(chats);
  }
}

/** An edit people made to the text (not Discord adding a link preview). */
function editedText(before: Message | PartialMessage, after: Message | PartialMessage): boolean {
  return !after.partial && after.editedTimestamp !== null && !before.partial && before.content !== after.content;
}
