// What every chat platform adapter (local, WhatsApp, Telegram, Slack, Discord) provides.
// Chat ids are namespaced by channel ("local:owner", "wa:1234@g.us") so they never collide.

export interface InboundMessage {
  chatId: string;
  /** The platform's id for this message; with chatId it makes a message unique (redelivery is ignored). */
  platformId: string;
  senderId: string;
  senderName: string;
  text: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The chat's display name, when the platform knows it. */
  chatName?: string;
  /** Sent by the assistant itself (e.g. echoed back by the platform): stored, never triggers a run. */
  fromAssistant?: boolean;
}

export interface InboundSink {
  (message: InboundMessage): void;
}

/** A chat the platform told us about (a group's name from metadata sync, a DM that wrote to us). */
export interface ChatInfo {
  chatId: string;
  name?: string;
  isGroup: boolean;
}

/** A registered group's folder, where a channel may save what the agent should read (media). */
export interface GroupFolder {
  /** The folder as the agent sees it inside its sandbox. */
  sandboxPath: string;
  /**
   * Save `data` at `relativePath` ("media/x.jpg") inside the folder, replacing a file of that name, owned by the
   * sandbox user. The agent controls the folder: a link or non-directory on the way is refused with an error
   * that says what was in the way ("media is a symbolic link"), never followed.
   */
  save(relativePath: string, data: Uint8Array): void;
}

/** What the orchestrator offers a channel besides the inbound sink. */
export interface ChannelHost {
  /** The folder of the group registered for this chat, or undefined when the chat is not registered. */
  groupFolder(chatId: string): GroupFolder | undefined;
  /** Chats seen on the platform, recorded (name only, no content) so the main chat can list and register them. */
  chatsSeen(chats: ChatInfo[]): void;
  /** The channel is (re)connected: replies that waited for it can go now. */
  ready(): void;
  /** The platform's own idea of the owner's main chat (WhatsApp: the self-chat), known once connected. */
  mainChat(chat: ChatInfo): void;
}

/** A file to deliver; the path is a host-private copy, never a path inside a sandbox-writable folder. */
export interface OutboundFile {
  path: string;
  fileName: string;
  caption?: string;
}

export interface SendOptions {
  /** A team member's role ("Researcher"): shown as the sender where the platform allows, else as a prefix. */
  sender?: string;
  /** Stable per outbox row: lets a platform make a re-send after a crash idempotent. */
  key?: string;
}

/**
 * Thrown by send() while the platform is unreachable (disconnected, logged out). Delivery keeps the reply
 * queued without spending an attempt and tries again when the channel calls `ready()`.
 */
export class ChannelUnavailableError extends Error {}

export interface Channel {
  readonly name: string;
  /** Start receiving; inbound messages are handed to `sink`. Must not wait for a remote service to be reachable. */
  connect(sink: InboundSink, host?: ChannelHost): Promise<void>;
  disconnect(): Promise<void>;
  owns(chatId: string): boolean;
  /** Deliver text to a chat; resolves to the platform's id for the sent message. */
  send(chatId: string, text: string, opts?: SendOptions): Promise<string>;
  /** Deliver a file (with an optional caption); channels without files get a text note instead. */
  sendFile?(chatId: string, file: OutboundFile, opts?: SendOptions): Promise<string>;
  /** Show or hide "typing…" where the platform has it. */
  setTyping(chatId: string, typing: boolean): Promise<void>;
}
