// A hand-written ChannelHost for the Discord wire tests: registered chats, an owner, what the channel told it.
import type { ChannelHost, ChannelOwner, ChatInfo, GroupFolder, InboundMessage } from '../../src/channels/channel.js';

export class RecordingHost implements ChannelHost {
  readonly registered = new Set<string>();
  readonly inbound: InboundMessage[] = [];
  readonly seen: ChatInfo[] = [];
  readonly told: [string, string][] = [];
  readonly notices: [string, string][] = [];
  readonly threads: [string, ChatInfo][] = [];
  readonly strangers: { userId: string; text: string }[] = [];
  readonly saved = new Map<string, Buffer>();
  ownerOf?: ChannelOwner;
  pairingCode = 'PAIR-1234';
  readies = 0;

  sink = (m: InboundMessage) => void this.inbound.push(m);
  isRegistered = (chatId: string) => this.registered.has(chatId);
  openThread = (parent: string, thread: ChatInfo) => {
    if (!this.registered.has(parent)) return false;
    this.threads.push([parent, thread]);
    this.registered.add(thread.chatId);
    return true;
  };
  owner = () => this.ownerOf;
  strangerDm = (_channel: string, sender: { userId: string; name: string }, chat: ChatInfo, text: string) => {
    this.strangers.push({ userId: sender.userId, text });
    if (text.trim() !== this.pairingCode) return { paired: false, reply: 'This is a private assistant.' };
    this.ownerOf = { userId: sender.userId, chatId: chat.chatId, name: sender.name };
    this.registered.add(chat.chatId);
    return { paired: true, reply: 'Paired: you are the owner now.' };
  };
  tellMain = (key: string, text: string) => void this.told.push([key, text]);
  groupFolder = (chatId: string): GroupFolder | undefined =>
    this.registered.has(chatId) ? { sandboxPath: '/workspace/group', save: (rel, data) => void this.saved.set(rel, Buffer.from(data)) } : undefined;
  chatsSeen = (chats: ChatInfo[]) => void this.seen.push(...chats);
  notice = (chatId: string, _key: string, text: string) => void this.notices.push([chatId, text]);
  ready = () => void this.readies++;
  mainChat = () => undefined;
  readonly answers: { cardId: string; choice: string; userId: string }[] = [];
  answer = async (cardId: string, choice: string, from: { userId: string }) => {
    this.answers.push({ cardId, choice, userId: from.userId });
    return from.userId === this.ownerOf?.userId ? 'Allowed' : 'Only the owner can answer this.';
  };
}
