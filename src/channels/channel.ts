// What a chat platform adapter provides, and what it says about itself to the channel registry
// (src/channels/registry.ts). Each channel is one folder under src/channels/. Chat ids are namespaced by channel
// ("local:owner", "wa:1234@g.us") so they never collide; `owns()` tells whose a chat id is.
// The message and chat shapes belong to the store (the layer below) and are re-exported here.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ChatInfo, InboundMessage } from '../store/types.js';

export type { ChatInfo, InboundMessage } from '../store/types.js';

export interface InboundSink {
  (message: InboundMessage): void;
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
  /**
   * Tell a registered chat something went wrong with what its people sent (a photo that could not be saved).
   * `key` makes it once-only (a redelivered message is not told twice); unregistered chats are never written to.
   */
  notice(chatId: string, key: string, text: string): void;
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

/** The state of a channel the owner links from their phone (scanning a QR code, typing a code). */
export interface PairingView {
  status: string;
  /** One line for people: "connected as +49…", "scan the QR code", "logged out". */
  detail: string;
  qr?: string;
  code?: string;
  /** The linked account, once connected. */
  me?: string;
}

/** What the local web page's pairing panel needs from such a channel. */
export interface PairingPanel {
  status(): PairingView;
  /** Follow status changes (QR codes rotate); returns the unsubscribe function. */
  onStatusChange(listener: (view: PairingView) => void): () => void;
  /** Connect again after a terminal state; with a phone number, pair by code instead of QR. */
  reconnect(opts: { pairingPhone?: string }): void;
}

export interface Channel {
  /** The channel's name in logs and the registry ("whatsapp"). */
  readonly name: string;
  /**
   * Set by a channel whose chat stays answered when the main group moves to a chat of another channel (the local
   * chat: the owner's way in that always works). That chat then becomes an ordinary group in this folder. Without
   * it, the main group moves only between chats of the same channel.
   */
  readonly fallbackFolder?: string;
  /** Present on channels linked from the owner's phone: the local web page shows their pairing panel. */
  readonly pairing?: PairingPanel;
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

/**
 * A platform channel as the registry lists it: `src/app.ts` creates the enabled ones at start-up. `create` is
 * called only when enabled, so a channel's heavy imports (Baileys) are loaded only when it is used.
 */
export interface ChannelPlugin {
  readonly name: string;
  /** Whether this install uses the channel (configured on, or already linked). */
  enabled(config: Config): boolean;
  create(config: Config, log: Logger): Promise<Channel>;
}
