// An in-process bot channel that follows the bot-channel rules of src/channels/channel.ts (owner DMs in, strangers
// through `host.strangerDm`, unregistered groups name-only, threads through `host.openThread`) over no network. It
// tests the host's side of that contract; each real channel proves its own side against its platform's wire fake.
import {
  ChatUnreachableError,
  type Channel,
  type ChannelHost,
  type InboundSink,
  type SendOptions,
} from '../../src/channels/channel.js';

export interface BotSent {
  chatId: string;
  text: string;
  sender?: string;
  /** Sent straight through the platform (a pairing reply), not from the outbox. */
  direct: boolean;
}

export class MemoryBot implements Channel {
  readonly name = 'bot';
  readonly sent: BotSent[] = [];
  /** Chats that refuse the bot (it was removed from them). */
  readonly refusing = new Set<string>();
  /** Sends the refusing chats turned away. */
  refused = 0;
  host!: ChannelHost;
  private sink!: InboundSink;
  private seq = 0;

  async connect(sink: InboundSink, host?: ChannelHost): Promise<void> {
    this.sink = sink;
    this.host = host!;
  }
  async disconnect(): Promise<void> {}
  owns(chatId: string): boolean {
    return chatId.startsWith('bot:');
  }
  async send(chatId: string, text: string, opts: SendOptions = {}): Promise<string> {
    if (this.refusing.has(chatId)) {
      this.refused++;
      throw new ChatUnreachableError('Forbidden: bot was kicked from the group chat');
    }
    this.sent.push({ chatId, text, sender: opts.sender, direct: false });
    return `out-${++this.seq}`;
  }
  async setTyping(): Promise<void> {}

  /** A direct message from `userId` (the DM's chat id is bot:<userId>). */
  dm(userId: string, name: string, text: string): void {
    const chatId = `bot:${userId}`;
    if (this.host.owner(this.name)?.userId === userId) return this.deliver(chatId, userId, name, text);
    const verdict = this.host.strangerDm(this.name, { userId, name }, { chatId, name, isGroup: false }, text);
    if (verdict.reply) this.sent.push({ chatId, text: verdict.reply, direct: true });
  }

  /** A message in a group chat, or in thread `thread` of it. */
  inGroup(chatId: string, userId: string, text: string, opts: { thread?: string; addressed?: boolean } = {}): void {
    if (!this.host.isRegistered(chatId)) return this.host.chatsSeen([{ chatId, name: `Group ${chatId}`, isGroup: true }]);
    const target = opts.thread ? `${chatId}:${opts.thread}` : chatId;
    if (opts.thread && !this.host.openThread(chatId, { chatId: target, name: `thread ${opts.thread}`, isGroup: true })) return;
    this.deliver(target, userId, userId, text, opts.addressed);
  }

  private deliver(chatId: string, senderId: string, senderName: string, text: string, addressed?: boolean): void {
    this.sink({ chatId, platformId: `in-${++this.seq}`, senderId, senderName, text, timestamp: Date.now(), addressed });
  }
}
