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

export interface SendOptions {
  /** A team member's role ("Researcher"): shown as the sender where the platform allows, else as a prefix. */
  sender?: string;
}

export interface Channel {
  readonly name: string;
  /** Start receiving; inbound messages are handed to `sink`. */
  connect(sink: InboundSink): Promise<void>;
  disconnect(): Promise<void>;
  owns(chatId: string): boolean;
  /** Deliver text to a chat; resolves to the platform's id for the sent message. */
  send(chatId: string, text: string, options?: SendOptions): Promise<string>;
  /** Show or hide "typing…" where the platform has it. */
  setTyping(chatId: string, typing: boolean): Promise<void>;
}
