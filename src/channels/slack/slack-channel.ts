// The Slack channel: Bolt in Socket Mode (./connection.ts), inbound translation (./inbound.ts), replies
// (./outbound.ts), files (./media.ts) and names (./names.ts), behind Carapace's Channel interface. Chat ids are
// "slack:<channel>" and "slack:<channel>:<thread ts>" (./ids.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Card, Channel, ChannelHealth, ChannelHost, InboundSink, OutboundFile, SendOptions } from '../channel.js';
import { readCardAction } from '../kit/card-action.js';
import { TypingLoop } from '../kit/typing-loop.js';
import { SlackConnection, type RetryPolicy } from './connection.js';
import type { SlackCredentials } from './credentials.js';
import { mentionedUsers } from './format.js';
import { CHAT_PREFIX, chatIdOf, slackTarget } from './ids.js';
import { plainMessage, readableText, tsMillis, type PlainMessage, type SlackMessageEvent } from './inbound.js';
import { saveFile } from './media.js';
import { SlackNames } from './names.js';
import { SlackOutbound } from './outbound.js';

/** The parts of a block_actions payload a card press needs. */
interface CardPress {
  user: { id: string };
  channel?: { id: string };
}

export interface SlackChannelOptions {
  credentials: SlackCredentials;
  apiUrl: string;
  maxMediaBytes: number;
  assistantName: string;
  log: Logger;
  retry?: RetryPolicy;
  clientPingTimeoutMs?: number;
  maxChars?: number;
}

/**
 * "Typing…": Slack has no typing indicator for bots outside its AI-assistant threads (assistant.threads.setStatus
 * works only there), so the message being answered gets an ⏳ reaction for the length of the run. It stays until
 * removed; the loop only renews it in case someone took it off.
 */
const TYPING_REACTION = 'hourglass_flowing_sand';
const TYPING_REFRESH_MS = 5 * 60_000;

export class SlackChannel implements Channel {
  readonly name = 'slack';
  private readonly connection: SlackConnection;
  private readonly outbound: SlackOutbound;
  private readonly names: SlackNames;
  private readonly typing: TypingLoop;
  private readonly log: Logger;
  private sink: InboundSink | undefined;
  private host: ChannelHost | undefined;
  /** Inbound work per Slack channel, chained so each chat's messages are handed on in order (files take a while). */
  private readonly chains = new Map<string, Promise<void>>();
  /** The last message handed on per chat: where the ⏳ goes. */
  private readonly lastMessage = new Map<string, { channel: string; ts: string }>();
  private readonly known = new Set<string>();

  constructor(private readonly opts: SlackChannelOptions) {
    this.log = opts.log.child({ channel: 'slack' });
    this.connection = new SlackConnection({
      credentials: opts.credentials,
      apiUrl: opts.apiUrl,
      log: this.log,
      retry: opts.retry,
      clientPingTimeoutMs: opts.clientPingTimeoutMs,
      onConnected: () => this.host?.ready(),
    });
    const client = this.connection.client;
    this.outbound = new SlackOutbound({ client, connected: () => this.connection.connected, maxChars: opts.maxChars });
    this.names = new SlackNames(client);
    this.typing = new TypingLoop(
      (chatId) => this.react(chatId, 'add'),
      TYPING_REFRESH_MS,
      (chatId) => this.react(chatId, 'remove'),
    );
    this.connection.app.event('message', async ({ event }) => this.enqueue(event as unknown as SlackMessageEvent));
    this.connection.app.event('member_joined_channel', async ({ event }) => this.joined(event.user, event.channel));
    this.connection.app.action(/^card:/, async ({ ack, body, action }) => {
      await ack();
      await this.pressed(body as CardPress, (action as { action_id: string }).action_id);
    });
    this.connection.app.error(async (err) => this.log.error({ err }, 'Slack event handler failed'));
  }

  owns(chatId: string): boolean {
    return chatId.startsWith(CHAT_PREFIX);
  }

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    this.sink = sink;
    this.host = host;
    this.connection.start();
  }

  async disconnect(): Promise<void> {
    this.typing.clear();
    await this.connection.stop();
    await Promise.allSettled([...this.chains.values()]); // files still being saved finish into the store
    this.sink = undefined;
  }

  health(): ChannelHealth {
    return this.connection.health;
  }

  send(chatId: string, text: string, opts: SendOptions = {}): Promise<string> {
    return this.outbound.sendText(chatId, text, opts.key ?? randomUUID(), opts.sender);
  }

  forget(key: string): void {
    this.outbound.progress.forget(key);
  }

  sendFile(chatId: string, file: OutboundFile): Promise<string> {
    return this.outbound.sendFile(chatId, file);
  }

  sendCard(chatId: string, card: Card): Promise<string> {
    return this.outbound.sendCard(chatId, card);
  }

  /** A card's button (block_actions): the host decides whether the presser may answer; only they see its verdict. */
  private async pressed(body: CardPress, actionId: string): Promise<void> {
    const action = readCardAction(actionId);
    if (!action || !this.host || !body.channel) return;
    const text = await this.host.answer(action.cardId, action.choice, { channel: 'slack', userId: body.user.id });
    await this.connection.client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text }).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'Slack: could not tell the presser what their button did');
    });
  }

  async setTyping(chatId: string, typing: boolean): Promise<void> {
    if (this.owns(chatId)) await this.typing.set(chatId, typing);
  }

  private async react(chatId: string, how: 'add' | 'remove'): Promise<void> {
    const target = this.lastMessage.get(chatId);
    if (!target || !this.connection.connected) return;
    const args = { channel: target.channel, timestamp: target.ts, name: TYPING_REACTION };
    await (how === 'add' ? this.connection.client.reactions.add(args) : this.connection.client.reactions.remove(args));
  }

  private enqueue(event: SlackMessageEvent): void {
    const key = event.channel;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.handle(event))
      .catch((err: unknown) => this.log.error({ err, ts: event.ts }, 'could not take in a Slack message'));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async handle(event: SlackMessageEvent): Promise<void> {
    const { botUserId } = this.opts.credentials;
    const msg = plainMessage(event, botUserId);
    if (!msg || !this.host) return;
    if (msg.isDm) return this.fromDm(msg, this.host);
    const parent = chatIdOf(msg.channel);
    const name = await this.names.channel(msg.channel);
    if (!this.host.isRegistered(parent)) return this.seen(parent, name);
    let chatId = parent;
    if (msg.threadTs) {
      const thread = { chatId: chatIdOf(msg.channel, msg.threadTs), name: `${name} (thread ${msg.threadTs})`, isGroup: true };
      if (this.host.openThread(parent, thread)) chatId = thread.chatId;
    }
    await this.handOn(msg, chatId, name);
  }

  /** The owner's DM goes to the sink; anyone else's only to the pairing check, and nothing of theirs is kept. */
  private async fromDm(msg: PlainMessage, host: ChannelHost): Promise<void> {
    const chatId = chatIdOf(msg.channel);
    if (host.owner('slack')?.userId === msg.user) return this.handOn(msg, chatId, 'Slack DM');
    const names = await this.names.usersNamed([msg.user]);
    const sender = { userId: msg.user, name: names.get(msg.user) ?? msg.user };
    const { text } = readableText(msg, this.opts.credentials.botUserId, this.opts.assistantName, names);
    const verdict = host.strangerDm('slack', sender, { chatId, name: sender.name, isGroup: false }, text.trim());
    if (!verdict.reply) return;
    await this.connection.client.chat
      .postMessage({ channel: msg.channel, text: verdict.reply })
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not answer a Slack DM'));
  }

  private async handOn(msg: PlainMessage, chatId: string, chatName: string): Promise<void> {
    const { botUserId } = this.opts.credentials;
    const ids = [msg.user, ...mentionedUsers(msg.raw)].filter((id) => id !== botUserId);
    const names = await this.names.usersNamed(ids);
    const { text, addressed } = readableText(msg, botUserId, this.opts.assistantName, names);
    const files = await this.saveFiles(msg, chatId);
    this.lastMessage.set(chatId, { channel: msg.channel, ts: msg.ts });
    this.sink?.({
      chatId,
      platformId: msg.platformId,
      senderId: msg.user,
      senderName: names.get(msg.user) ?? msg.user,
      text: [text, ...files].filter(Boolean).join('\n'), // the words first: they carry the trigger
      timestamp: tsMillis(msg.ts),
      chatName,
      addressed,
    });
  }

  /** Each file saved under media/ becomes a line "[file: <path>]"; one that is not is told to the chat. */
  private async saveFiles(msg: PlainMessage, chatId: string): Promise<string[]> {
    const folder = this.host?.groupFolder(chatId);
    if (!folder || msg.files.length === 0) return [];
    const lines: string[] = [];
    for (const file of msg.files) {
      const saved = await saveFile(file, tsMillis(msg.ts), folder, {
        botToken: this.opts.credentials.botToken,
        apiUrl: this.opts.apiUrl,
        maxBytes: this.opts.maxMediaBytes,
      });
      const label = file.name ?? 'a file';
      if (saved.ok) lines.push(`[file: ${saved.sandboxPath}]`);
      else {
        lines.push(`[file ${label} not saved: it ${saved.reason}]`);
        this.host?.notice(chatId, `slack-file:${msg.platformId}:${file.id}`, `I could not take the file ${label}: it ${saved.reason}.`);
      }
    }
    return lines;
  }

  private async joined(user: string, channel: string): Promise<void> {
    if (user !== this.opts.credentials.botUserId || !this.host) return;
    const name = await this.names.channel(channel);
    const chatId = chatIdOf(channel);
    this.seen(chatId, name);
    this.host.tellMain(`slack-joined:${channel}`, `I was added to ${name} (${chatId}); register it from here to use me there`);
  }

  private seen(chatId: string, name: string): void {
    if (this.known.has(`${chatId}\u0000${name}`)) return;
    this.known.add(`${chatId}\u0000${name}`);
    this.host?.chatsSeen([{ chatId, name, isGroup: !slackTarget(chatId).channel.startsWith('D') }]);
  }
}
