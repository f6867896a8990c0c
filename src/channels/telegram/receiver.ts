// Where each Telegram update goes. The owner's direct messages and messages in registered chats (and their forum
// topics) are handed to Carapace; a stranger's direct message goes to the host's pairing check and is never
// stored; an unregistered group is only noted by name. The bot being added to or removed from a chat is told
// to the main chat.
import type { Api } from 'grammy';
import type { CallbackQuery, ChatMemberUpdated, Update } from 'grammy/types';
import type { Logger } from 'pino';
import type { ChannelHost, ChatInfo, InboundSink } from '../channel.js';
import { readCardAction } from '../kit/card-action.js';
import { chatIdOf, targetOf } from './ids.js';
import { chatName, translate, type BotIdentity, type Incoming } from './inbound.js';
import { mediaFileName, saveMedia, type MediaSource } from './media.js';

export const CHANNEL = 'telegram';

export interface ReceiverOptions {
  bot: BotIdentity;
  media: MediaSource;
  /** Answers strangers directly (not through the outbox: nothing of theirs is stored). */
  api: Api;
  log: Logger;
}

export class Receiver {
  constructor(
    private readonly sink: InboundSink,
    private readonly host: ChannelHost,
    private readonly opts: ReceiverOptions,
  ) {}

  async handle(update: Update): Promise<void> {
    if (update.my_chat_member) return this.membership(update.my_chat_member);
    if (update.callback_query) return this.pressed(update.callback_query);
    const message = update.message ?? update.channel_post;
    const edited = update.edited_message ?? update.edited_channel_post;
    const incoming = message ? translate(message, this.opts.bot) : edited ? translate(edited, this.opts.bot, true) : undefined;
    if (!incoming) return;
    if (incoming.isPrivate) return this.direct(incoming);
    return this.group(incoming);
  }

  private async direct(incoming: Incoming): Promise<void> {
    if (this.host.owner(CHANNEL)?.userId === incoming.sender.userId) return this.hand(incoming, incoming.chat.chatId);
    const verdict = this.host.strangerDm(CHANNEL, incoming.sender, incoming.chat, incoming.text);
    if (verdict.paired) this.opts.log.info({ chat: incoming.chat.chatId }, 'telegram: the owner paired');
    if (!verdict.reply) return;
    await this.opts.api.sendMessage(targetOf(incoming.chat.chatId).chatId, verdict.reply).catch((err: Error) => {
      this.opts.log.warn({ err: err.message, chat: incoming.chat.chatId }, 'telegram: could not answer a direct message');
    });
  }

  private async group(incoming: Incoming): Promise<void> {
    const { chat, topic } = incoming;
    if (!this.host.isRegistered(chat.chatId)) {
      this.host.chatsSeen([chat]);
      return;
    }
    const target = topic && this.host.openThread(chat.chatId, topic) ? topic.chatId : chat.chatId;
    return this.hand(incoming, target);
  }

  /** To the store, with the message's file downloaded into the chat's folder first. */
  private async hand(incoming: Incoming, chatId: string): Promise<void> {
    this.sink({
      chatId,
      platformId: incoming.platformId,
      senderId: incoming.sender.userId,
      senderName: incoming.sender.name,
      text: await this.withMedia(incoming, chatId),
      timestamp: incoming.timestamp,
      chatName: incoming.topic ? undefined : incoming.chat.name, // a topic's name is the host's, set by openThread
      addressed: incoming.addressed || undefined,
    });
  }

  private async withMedia(incoming: Incoming, chatId: string): Promise<string> {
    const { media, text } = incoming;
    if (!media) return text;
    const folder = this.host.groupFolder(chatId);
    const saved = folder
      ? await saveMedia(media, mediaFileName(media, incoming.platformId, incoming.timestamp), folder, this.opts.media)
      : { ok: false as const, reason: 'has no folder to go to' };
    if (!saved.ok) {
      this.opts.log.warn({ chat: chatId, kind: media.kind, reason: saved.reason }, 'telegram: media not saved');
      if (saved.refused) this.host.notice(chatId, `tg-media:${incoming.platformId}`, `Your ${media.kind} ${saved.reason}`);
    }
    const note = saved.ok ? `[${media.kind}: ${saved.sandboxPath}]` : `[${media.kind} ${saved.reason}]`;
    return text ? `${note}\n${text}` : note;
  }

  /** A card's button: the host decides whether the presser may answer; they see its verdict as a toast. */
  private async pressed(query: CallbackQuery): Promise<void> {
    const action = readCardAction(query.data);
    const text = action
      ? await this.host.answer(action.cardId, action.choice, { channel: CHANNEL, userId: String(query.from.id) })
      : 'This button is no longer in use.';
    await this.opts.api.answerCallbackQuery(query.id, { text: text.slice(0, 200) }).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'telegram: could not answer a button press');
    });
  }

  private membership(update: ChatMemberUpdated): void {
    if (update.chat.type === 'private') return;
    const chat: ChatInfo = { chatId: chatIdOf(update.chat.id), name: chatName(update.chat), isGroup: true };
    const was = isMember(update.old_chat_member);
    const is = isMember(update.new_chat_member);
    if (!was && is) {
      this.host.chatsSeen([chat]);
      this.host.tellMain(`tg-added:${update.chat.id}:${update.date}`, `I was added to ${chat.name} (${chat.chatId}); register it from here to use me there`);
    } else if (was && !is) {
      this.host.tellMain(`tg-removed:${update.chat.id}:${update.date}`, `I was removed from ${chat.name} (${chat.chatId}); replies to it cannot be delivered`);
    }
  }
}

function isMember(member: ChatMemberUpdated['new_chat_member']): boolean {
  if (member.status === 'restricted') return member.is_member;
  return member.status === 'member' || member.status === 'administrator' || member.status === 'creator';
}
