// The Telegram channel: a bot, reached by long polling or a webhook (the link: connection and health), composed
// with the receiver (updates → Carapace) and outbound (replies → Telegram). Chat ids are "tg:<chat id>" and
// "tg:<chat id>:<topic id>".
import { randomUUID } from 'node:crypto';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import {
  ChannelUnavailableError,
  ChatUnreachableError,
  type Card,
  type Channel,
  type ChannelHealth,
  type ChannelHost,
  type InboundSink,
  type OutboundFile,
  type SendOptions,
} from '../channel.js';
import { cardActionId } from '../kit/card-action.js';
import { TypingLoop } from '../kit/typing-loop.js';
import { classify, createApis, type ApiOptions, type TelegramApis } from './api.js';
import { addressOf, CHAT_PREFIX, targetOf } from './ids.js';
import type { BotIdentity } from './inbound.js';
import { Outbound } from './outbound.js';
import type { Link, LinkStateOptions } from './link-state.js';
import { Poller } from './poller.js';
import { Receiver } from './receiver.js';
import { WebhookLink, type WebhookSettings } from './webhook.js';

export interface TelegramChannelOptions extends ApiOptions {
  token: string;
  bot: BotIdentity;
  maxMediaBytes: number;
  log: Logger;
  pollTimeoutSeconds?: number;
  backoff?: LinkStateOptions['backoff'];
  /** Receive by webhook instead of long polling. */
  webhook?: WebhookSettings;
  random?: () => number;
  /** "typing…" lasts 5 s on Telegram; it is sent again this often while a run goes on. */
  typingRefreshMs?: number;
}

export class TelegramChannel implements Channel {
  readonly name = 'telegram';
  private readonly apis: TelegramApis;
  private readonly link: Link;
  private readonly outbound: Outbound;
  private readonly typing: TypingLoop;
  private readonly log: Logger;
  private receiver: Receiver | undefined;
  private host: ChannelHost | undefined;

  constructor(private readonly opts: TelegramChannelOptions) {
    this.log = opts.log.child({ channel: 'telegram' });
    this.apis = createApis(opts.token, opts);
    this.outbound = new Outbound(this.apis.send, this.log);
    this.typing = new TypingLoop((chatId) => {
      const target = targetOf(chatId);
      return this.apis.control.sendChatAction(target.chatId, 'typing', addressOf(target));
    }, opts.typingRefreshMs ?? 4_500);
    const linkOptions = {
      api: this.apis.control,
      account: `@${opts.bot.username}`,
      log: this.log,
      handle: (update: Update) => this.receiver?.handle(update) ?? Promise.resolve(),
      onChange: (health: ChannelHealth) => {
        if (health.state === 'connected') this.host?.ready();
      },
      backoff: opts.backoff,
      random: opts.random,
    };
    this.link = opts.webhook
      ? new WebhookLink({ ...linkOptions, webhook: opts.webhook })
      : new Poller({ ...linkOptions, timeoutSeconds: opts.pollTimeoutSeconds });
  }

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    if (!host) throw new Error('the Telegram channel needs the channel host (pairing, registered chats)');
    this.host = host;
    const media = { api: this.apis.control, apiRoot: this.opts.apiRoot, token: this.opts.token, maxBytes: this.opts.maxMediaBytes };
    this.receiver = new Receiver(sink, host, { bot: this.opts.bot, media, api: this.apis.send, log: this.log });
    this.link.start();
  }

  async disconnect(): Promise<void> {
    this.typing.clear();
    await this.link.stop();
    this.receiver = undefined;
  }

  owns(chatId: string): boolean {
    return chatId.startsWith(CHAT_PREFIX);
  }

  send(chatId: string, text: string, opts: SendOptions = {}): Promise<string> {
    return this.deliver(chatId, () => this.outbound.sendText(chatId, text, opts.key ?? randomUUID(), opts.sender));
  }

  forget(key: string): void {
    this.outbound.progress.forget(key);
  }

  sendFile(chatId: string, file: OutboundFile): Promise<string> {
    return this.deliver(chatId, () => this.outbound.sendFile(chatId, file));
  }

  /** A card: its text with an inline keyboard whose buttons come back as callback queries ("card:<id>:<choice>"). */
  sendCard(chatId: string, card: Card): Promise<string> {
    const target = targetOf(chatId);
    const keyboard = [card.choices.map((c) => ({ text: c.label, callback_data: cardActionId(card, c.id) }))];
    return this.deliver(chatId, async () => {
      const sent = await this.apis.send.sendMessage(target.chatId, card.text, { ...addressOf(target), reply_markup: { inline_keyboard: keyboard } });
      return String(sent.message_id);
    });
  }

  setTyping(chatId: string, typing: boolean): Promise<void> {
    return this.typing.set(chatId, typing);
  }

  health(): ChannelHealth {
    return this.link.health;
  }

  /** A send, with Telegram's refusals translated for delivery: wait for the network, or give the chat up. */
  private async deliver(chatId: string, send: () => Promise<string>): Promise<string> {
    if (this.link.health.state === 'offline') throw new ChannelUnavailableError(`Telegram is unreachable: ${this.link.health.detail}`);
    try {
      return await send();
    } catch (err) {
      const kind = classify(err);
      const reason = (err as Error).message;
      if (kind === 'network') {
        this.link.lostNetwork(reason);
        throw new ChannelUnavailableError(`Telegram is unreachable: ${reason}`);
      }
      if (kind === 'unauthorized') throw new ChannelUnavailableError(`Telegram refused the bot token: ${reason}`);
      if (kind === 'unreachable-chat') throw new ChatUnreachableError(`Telegram refused ${chatId}: ${reason}`);
      throw err;
    }
  }
}
