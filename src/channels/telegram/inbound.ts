// Telegram messages as Carapace reads them: who wrote where, the text the agent sees (captions, the quoted message
// a reply answers, "[forwarded from …]", "[edited]"), the file to download if any, and whether the bot was
// addressed (an @mention of it, or a reply to one of its messages). Pure translation: no network, no store.
import type { Chat, Message, MessageEntity, User } from 'grammy/types';
import type { ChatInfo } from '../channel.js';
import { chatIdOf } from './ids.js';

/** A file in a message, to download through getFile. */
export interface MediaRef {
  kind: 'photo' | 'voice' | 'audio' | 'video' | 'document' | 'animation' | 'video note';
  fileId: string;
  fileSize?: number;
  fileName?: string;
  mimeType?: string;
}

export interface Incoming {
  /** The chat, or for a forum topic its parent chat. */
  chat: ChatInfo;
  /** The forum topic the message is in, a conversation of its own. */
  topic?: ChatInfo;
  isPrivate: boolean;
  sender: { userId: string; name: string };
  platformId: string;
  timestamp: number;
  text: string;
  media?: MediaRef;
  addressed: boolean;
}

export interface BotIdentity {
  id: number;
  username: string;
}

const QUOTE_MAX = 200;

export const userName = (u: Pick<User, 'first_name' | 'last_name' | 'username'>) =>
  [u.first_name, u.last_name].filter(Boolean).join(' ') || (u.username ? `@${u.username}` : 'someone');

export const chatName = (chat: Chat): string =>
  chat.type === 'private' ? userName(chat) : chat.title;

/** A new or edited message → what Carapace stores; undefined for service messages with nothing to say. */
export function translate(message: Message, bot: BotIdentity, edited = false): Incoming | undefined {
  const body = bodyOf(message);
  if (body === undefined) return undefined;
  const lines = [forwardNote(message), replyNote(message), body.text].filter((l): l is string => !!l);
  const chat: ChatInfo = { chatId: chatIdOf(message.chat.id), name: chatName(message.chat), isGroup: message.chat.type !== 'private' };
  const threadId = message.is_topic_message ? message.message_thread_id : undefined;
  const sender = message.from ? { userId: String(message.from.id), name: userName(message.from) } : senderChat(message);
  return {
    chat,
    topic: threadId === undefined ? undefined : { chatId: chatIdOf(message.chat.id, threadId), name: topicName(message, threadId), isGroup: true },
    isPrivate: message.chat.type === 'private',
    sender,
    platformId: edited ? `${message.message_id}:edit:${message.edit_date ?? message.date}` : String(message.message_id),
    timestamp: (edited ? message.edit_date ?? message.date : message.date) * 1000,
    text: (edited ? '[edited] ' : '') + lines.join('\n'),
    media: body.media,
    addressed: mentions(message, bot) || message.reply_to_message?.from?.id === bot.id,
  };
}

function senderChat(message: Message): { userId: string; name: string } {
  const chat = message.sender_chat ?? message.chat;
  return { userId: String(chat.id), name: chatName(chat) };
}

/** The topic's own name (the host puts the chat's name in front), known from the topic's first message. */
function topicName(message: Message, threadId: number): string {
  const created = message.reply_to_message?.forum_topic_created?.name ?? message.forum_topic_created?.name;
  return created ?? `topic ${threadId}`;
}

/** The message's own text, and its file; short notes for things that are not text. */
function bodyOf(m: Message): { text: string; media?: MediaRef } | undefined {
  const caption = m.text ?? m.caption ?? '';
  const media = mediaOf(m);
  if (media) return { text: caption, media };
  if (m.text !== undefined) return { text: m.text };
  const note = noteOf(m);
  return note === undefined ? undefined : { text: [note, caption].filter(Boolean).join('\n') };
}

function mediaOf(m: Message): MediaRef | undefined {
  if (m.photo?.length) {
    const largest = m.photo[m.photo.length - 1];
    return { kind: 'photo', fileId: largest.file_id, fileSize: largest.file_size, mimeType: 'image/jpeg' };
  }
  const file = (kind: MediaRef['kind'], f: { file_id: string; file_size?: number; mime_type?: string; file_name?: string }) => ({
    kind,
    fileId: f.file_id,
    fileSize: f.file_size,
    mimeType: f.mime_type,
    fileName: f.file_name,
  });
  if (m.voice) return file('voice', m.voice);
  if (m.audio) return file('audio', m.audio);
  if (m.video) return file('video', m.video);
  if (m.video_note) return file('video note', { ...m.video_note, mime_type: 'video/mp4' });
  if (m.animation) return file('animation', m.animation);
  if (m.document) return file('document', m.document);
  return undefined;
}

function noteOf(m: Message): string | undefined {
  if (m.sticker) return `[sticker${m.sticker.emoji ? ` ${m.sticker.emoji}` : ''}]`;
  if (m.venue) return `[venue: ${m.venue.title}, ${m.venue.address} (${m.venue.location.latitude}, ${m.venue.location.longitude})]`;
  if (m.location) return `[location: ${m.location.latitude}, ${m.location.longitude}]`;
  if (m.contact) return `[contact: ${[m.contact.first_name, m.contact.last_name].filter(Boolean).join(' ')}, ${m.contact.phone_number}]`;
  if (m.poll) return `[poll: ${m.poll.question} — ${m.poll.options.map((o) => o.text).join(' / ')}]`;
  if (m.dice) return `[dice ${m.dice.emoji}: ${m.dice.value}]`;
  return undefined;
}

function forwardNote(m: Message): string | undefined {
  const origin = m.forward_origin;
  if (!origin) return undefined;
  const from =
    origin.type === 'user' ? userName(origin.sender_user)
    : origin.type === 'hidden_user' ? origin.sender_user_name
    : origin.type === 'chat' ? chatName(origin.sender_chat)
    : chatName(origin.chat);
  return `[forwarded from ${from}]`;
}

/** "[reply to Bob: "the quoted part"]": what the message answers, so the agent reads it in context. */
function replyNote(m: Message): string | undefined {
  const replied = m.reply_to_message;
  if (!replied || replied.forum_topic_created || (m.is_topic_message && replied.message_id === m.message_thread_id)) return undefined;
  const quoted = m.quote?.text ?? replied.text ?? replied.caption ?? (mediaOf(replied) ? `[${mediaOf(replied)!.kind}]` : noteOf(replied) ?? '');
  const short = quoted.length > QUOTE_MAX ? `${quoted.slice(0, QUOTE_MAX - 1)}…` : quoted;
  const who = replied.from ? userName(replied.from) : chatName(replied.sender_chat ?? replied.chat);
  return `[reply to ${who}: "${short.replace(/\s+/g, ' ')}"]`;
}

function mentions(m: Message, bot: BotIdentity): boolean {
  const text = m.text ?? m.caption ?? '';
  const entities: MessageEntity[] = m.entities ?? m.caption_entities ?? [];
  const handle = `@${bot.username}`.toLowerCase();
  return entities.some((e) =>
    e.type === 'mention' ? text.slice(e.offset, e.offset + e.length).toLowerCase() === handle
    : e.type === 'text_mention' ? e.user.id === bot.id
    : false,
  );
}
