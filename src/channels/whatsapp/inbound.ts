// Baileys messages → Carapace's InboundMessage. Text, extended text and captions become the text; media is saved
// into the group folder and referenced by its sandbox path; a quoted reply carries what it quotes; anything we
// cannot represent becomes a short note instead of vanishing. Unregistered chats yield only their name.
import {
  getContentType,
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  normalizeMessageContent,
  type proto,
  type WAMessage,
} from '@whiskeysockets/baileys';
import type { ChatInfo, GroupFolder, InboundMessage } from '../channel.js';
import { phoneOf } from './auth.js';
import { chatIdOf, phoneJid, type OwnIdentity } from './jid.js';
import { saveMedia, type MediaMessage } from './media.js';
import type { ILogger, WASocketLike } from './socket.js';

export interface InboundContext {
  sock: WASocketLike;
  me: OwnIdentity;
  assistantName: string;
  /** The assistant has its own number: everything sent from this account is the assistant's. */
  ownNumber: boolean;
  groupFolder(chatId: string): GroupFolder | undefined;
  /** Tell the chat what went wrong with something its people sent (see ChannelHost.notice). */
  notice(chatId: string, key: string, text: string): void;
  groupName(jid: string): string | undefined;
  /** Display names seen so far, by phone JID (for quoted replies). */
  names: Map<string, string>;
  maxMediaBytes: number;
  logger: ILogger;
}

export type Translation =
  | { kind: 'ignore'; reason: string }
  /** A chat that is not registered: its name is worth knowing, its content is not ours to keep. */
  | { kind: 'chat'; chat: ChatInfo }
  | { kind: 'message'; chat: ChatInfo; message: InboundMessage };

/** Not messages but protocol traffic: receipts of edits, deletes, reactions, key exchange, poll votes. */
const SILENT = new Set<string>([
  'protocolMessage',
  'reactionMessage',
  'encReactionMessage',
  'senderKeyDistributionMessage',
  'pollUpdateMessage',
  'keepInChatMessage',
  'pinInChatMessage',
  'messageContextInfo',
]);

const QUOTE_CHARS = 300;

const numberOf = (t: WAMessage['messageTimestamp']): number =>
  typeof t === 'number' ? t : t && typeof t === 'object' && 'toNumber' in t ? t.toNumber() : 0;

/**
 * "Andy: hello" is how the assistant signs its messages when it shares the owner's number; a team member's
 * message reads "Andy (Researcher): …".
 */
export const signed = (text: string, name: string, role?: string) => `${name}${role ? ` (${role})` : ''}: ${text}`;
/** The length of the signature "Name: " or "Name (Role): " that `text` starts with, or 0 when it has none. */
function signatureLength(text: string, name: string): number {
  if (!text.startsWith(name)) return 0;
  const rest = /^(?: \([^)\n]{1,60}\))?:\s*/.exec(text.slice(name.length));
  return rest ? name.length + rest[0].length : 0;
}
const isSigned = (text: string, name: string) => signatureLength(text, name) > 0;
const unsigned = (text: string, name: string) => text.slice(signatureLength(text, name));

export async function translate(msg: WAMessage, ctx: InboundContext): Promise<Translation> {
  const remote = msg.key.remoteJid;
  if (!remote) return { kind: 'ignore', reason: 'no chat' };
  if (isJidBroadcast(remote) || isJidNewsletter(remote)) return { kind: 'ignore', reason: 'status or broadcast' };
  const content = normalizeMessageContent(msg.message);
  const type = content ? getContentType(content) : undefined;
  if (!content || !type || SILENT.has(type)) return { kind: 'ignore', reason: type ?? 'no content' };

  const lids = ctx.sock.signalRepository.lidMapping;
  const isGroup = !!isJidGroup(remote);
  const chatJid = isGroup ? remote : await phoneJid(remote, msg.key.remoteJidAlt, ctx.me, lids);
  const fromMe = !!msg.key.fromMe;
  const sender = fromMe
    ? ctx.me.pn
    : isGroup
      ? await phoneJid(msg.key.participant ?? remote, msg.key.participantAlt, ctx.me, lids)
      : chatJid;
  if (msg.pushName && !fromMe) ctx.names.set(sender, msg.pushName);
  const chatId = chatIdOf(chatJid);
  const chat: ChatInfo = {
    chatId,
    isGroup,
    name: isGroup ? ctx.groupName(remote) : chatJid === ctx.me.pn ? 'Me (self-chat)' : (msg.pushName ?? undefined),
  };
  const folder = ctx.groupFolder(chatId);
  if (!folder) return { kind: 'chat', chat };

  const timestamp = numberOf(msg.messageTimestamp) * 1000 || Date.now();
  let text = await body(msg, content, type, timestamp, { folder, chatId }, ctx);
  const fromAssistant = fromMe && (ctx.ownNumber || isSigned(text, ctx.assistantName));
  if (fromAssistant && !ctx.ownNumber) text = unsigned(text, ctx.assistantName);
  const quote = await quoted(content, type, ctx);
  if (quote) text = `${quote}\n${text}`;
  const senderName = fromAssistant
    ? ctx.assistantName
    : fromMe
      ? (ctx.me.name ?? msg.pushName ?? 'Me')
      : (msg.pushName ?? ctx.names.get(sender) ?? phoneOf(sender) ?? sender);
  return {
    kind: 'message',
    chat,
    message: {
      chatId,
      platformId: msg.key.id ?? `${sender}-${timestamp}`,
      senderId: chatIdOf(sender),
      senderName,
      text,
      timestamp,
      chatName: chat.name,
      fromAssistant,
    },
  };
}

async function body(
  msg: WAMessage,
  content: proto.IMessage,
  type: keyof proto.IMessage,
  timestamp: number,
  { folder, chatId }: { folder: GroupFolder; chatId: string },
  ctx: InboundContext,
): Promise<string> {
  switch (type) {
    case 'conversation':
      return content.conversation ?? '';
    case 'extendedTextMessage':
      return content.extendedTextMessage?.text ?? '';
    case 'imageMessage':
    case 'videoMessage':
    case 'audioMessage':
    case 'documentMessage': {
      const media = content[type] as MediaMessage;
      const label = mediaLabel(type, media);
      const saved = await saveMedia({ ...msg, message: content }, media, timestamp, folder, {
        maxBytes: ctx.maxMediaBytes,
        sock: ctx.sock,
        logger: ctx.logger,
      });
      if (!saved.ok) ctx.logger.warn({ chat: msg.key.remoteJid, id: msg.key.id, reason: saved.reason }, 'media not saved');
      if (!saved.ok && saved.refused) ctx.notice(chatId, `media-${msg.key.id}`, `⚠️ The ${label} you sent ${saved.reason}; I cannot see it.`);
      const ref = saved.ok ? `[${label}: ${saved.sandboxPath}]` : `[${label} ${saved.reason}]`;
      const caption = 'caption' in media ? media.caption : undefined;
      return caption ? `${ref}\n${caption}` : ref;
    }
    case 'stickerMessage':
      return '[sticker]';
    case 'locationMessage':
    case 'liveLocationMessage': {
      const loc = content[type]!;
      const place = 'name' in loc ? [loc.name, loc.address].filter(Boolean).join(', ') : '';
      return `[location: ${loc.degreesLatitude}, ${loc.degreesLongitude}${place ? ` (${place})` : ''}]`;
    }
    case 'contactMessage':
      return `[contact card: ${content.contactMessage?.displayName ?? 'unnamed'}]`;
    case 'contactsArrayMessage':
      return `[contact cards: ${(content.contactsArrayMessage?.contacts ?? []).map((c) => c.displayName).join(', ')}]`;
    case 'pollCreationMessage':
    case 'pollCreationMessageV2':
    case 'pollCreationMessageV3': {
      const poll = content[type]!;
      return `[poll: ${poll.name} — ${(poll.options ?? []).map((o) => o.optionName).join(' / ')}]`;
    }
    default:
      return `[a WhatsApp ${type.replace(/Message$/, '')} message, which I cannot read]`;
  }
}

function mediaLabel(type: string, media: MediaMessage): string {
  if (type === 'audioMessage') {
    const audio = media as proto.Message.IAudioMessage;
    const seconds = audio.seconds ? ` (${audio.seconds} s)` : '';
    return `${audio.ptt ? 'voice note' : 'audio'}${seconds}`;
  }
  if (type === 'documentMessage') {
    const name = (media as proto.Message.IDocumentMessage).fileName;
    return name ? `document "${name.replace(/["\n\]]/g, '')}"` : 'document';
  }
  return type === 'imageMessage' ? 'image' : 'video';
}

/** `[replying to Ada: "…"]` for a reply, so the agent knows what "yes, that one" refers to. */
async function quoted(content: proto.IMessage, type: keyof proto.IMessage, ctx: InboundContext): Promise<string | undefined> {
  const info = (content[type] as { contextInfo?: proto.IContextInfo | null } | null | undefined)?.contextInfo;
  const q = normalizeMessageContent(info?.quotedMessage);
  if (!q) return undefined;
  const qType = getContentType(q);
  const raw =
    q.conversation ??
    q.extendedTextMessage?.text ??
    q.imageMessage?.caption ??
    q.videoMessage?.caption ??
    q.documentMessage?.caption ??
    (qType ? `[${qType.replace(/Message$/, '')}]` : '');
  let who = 'an earlier message';
  if (info?.participant) {
    const author = await phoneJid(info.participant, undefined, ctx.me, ctx.sock.signalRepository.lidMapping);
    if (author === ctx.me.pn) who = ctx.ownNumber || isSigned(raw, ctx.assistantName) ? ctx.assistantName : (ctx.me.name ?? 'me');
    else who = ctx.names.get(author) ?? phoneOf(author) ?? author;
  }
  let text = unsigned(raw, ctx.assistantName);
  if (text.length > QUOTE_CHARS) text = `${text.slice(0, QUOTE_CHARS)}…`;
  return `[replying to ${who}: "${text}"]`;
}
