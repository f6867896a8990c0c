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

/** The person who paired a bot channel: only they reach the bot in a direct message. */
export interface ChannelOwner {
  /** The platform's id for the owner (Telegram user id, Slack user id, Discord user id). */
  userId: string;
  /** Their direct-message chat with the bot ("tg:12345"). */
  chatId: string;
  name: string;
}

/** What the host decided about a direct message from someone who is not (yet) the owner. */
export interface StrangerVerdict {
  /** The sender redeemed the live pairing code: they are the owner now and their DM is registered. */
  paired: boolean;
  /**
   * What to answer them directly (not through the outbox: nothing of theirs is stored): the pairing
   * confirmation, or a polite refusal at most once a day per person. Undefined: stay silent.
   */
  reply?: string;
}

/** A question for the owner with buttons (an egress approval); channels without buttons get `text` alone. */
export interface Card {
  /** The host's id for the card; a button press names it back in `ChannelHost.answer`. */
  id: string;
  /** The question, complete without the buttons (it says how to answer by a short reply). */
  text: string;
  choices: { id: string; label: string }[];
}

/** Who pressed a card's button, as the channel knows them: the host checks they are the channel's owner. */
export interface CardAnswerer {
  channel: string;
  userId: string;
}

/** What the orchestrator offers a channel besides the inbound sink. */
export interface ChannelHost {
  /**
   * Whether a chat is registered as a group. Bot channels hand over only messages of registered chats (and of
   * their threads); for the rest they report the chat's name through `chatsSeen` and store nothing.
   */
  isRegistered(chatId: string): boolean;
  /**
   * A thread of a registered chat (a Slack thread, a Telegram forum topic, a Discord thread) is a conversation of
   * its own: registered on first use as a group with its own session and cursor, sharing the parent's folder
   * and settings. Returns false (and registers nothing) when the parent chat is not registered.
   */
  openThread(parentChatId: string, thread: ChatInfo): boolean;
  /** The paired owner of a bot channel ("telegram"), if any. */
  owner(channel: string): ChannelOwner | undefined;
  /**
   * A direct message to a bot channel from someone who is not its owner. If `text` is the live one-time code
   * from `carapace channel pair`, the sender becomes the owner and `chat` is registered: as the main chat when
   * main is still the local chat, else as an ordinary chat.
   */
  strangerDm(channel: string, sender: { userId: string; name: string }, chat: ChatInfo, text: string): StrangerVerdict;
  /**
   * Tell the owner's main chat something about a channel (the bot was added to a group, removed from a chat).
   * `key` makes it once-only.
   */
  tellMain(key: string, text: string): void;
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
  /**
   * The newest stored message from people in each registered chat of a channel (chat ids starting with
   * `prefix`): where a platform that does not replay what was said while we were down (Discord) catches up from
   * after a restart.
   */
  newestStored?(prefix: string): { chatId: string; platformId: string }[];
  /** The platform's own idea of the owner's main chat (WhatsApp: the self-chat), known once connected. */
  mainChat(chat: ChatInfo): void;
  /**
   * A button of a card was pressed. Only the owner of the channel the card went to may answer; anyone else (a
   * group member, a stranger) is refused. Resolves to a short line to show the presser ("Allowed once").
   */
  answer(cardId: string, choice: string, from: CardAnswerer): Promise<string>;
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

/**
 * Thrown by send() when the platform refuses this chat for good (the bot was removed from it or blocked: Telegram
 * 403, Slack `channel_not_found`/`not_in_channel`, Discord 50001/50007). Delivery stops retrying the reply, and
 * the main chat is told which chat and why.
 */
export class ChatUnreachableError extends Error {}

/** A channel's connection as `status`, `doctor` and the local page show it. */
export interface ChannelHealth {
  state: 'connecting' | 'connected' | 'offline' | 'failed' | 'stopped';
  /** One line for people: "long polling as @carapace_bot", "no network since 10:02, retrying in 30 s". */
  detail: string;
  /** The bot's account ("@carapace_bot"). */
  account?: string;
  /** How it connects ("polling", "webhook", "socket mode", "gateway"). */
  mode?: string;
  /** When the state last changed (ms since the epoch). */
  since: number;
}

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
  /**
   * Delivery gave up the reply sent with this key for good (after its last attempt): drop whatever the channel
   * remembers about it (how many of its parts went out).
   */
  forget?(key: string): void;
  /** Send a card with buttons; resolves to the platform's id for the message. Absent: the host sends `card.text`. */
  sendCard?(chatId: string, card: Card): Promise<string>;
  /** Show or hide "typing…" where the platform has it. */
  setTyping(chatId: string, typing: boolean): Promise<void>;
  /** The connection's state, for `status` and the local page (bot channels). */
  health?(): ChannelHealth;
}

/** How `carapace channel add|pair|remove` talks to the person at the terminal. */
export interface SetupIO {
  out: { write(text: string): unknown };
  /**
   * Ask for a value: read from the terminal (masked when `secret`), or one line from piped stdin. Rejects with a
   * message for people when there is neither.
   */
  ask(question: string, opts?: { secret?: boolean }): Promise<string>;
  config: Config;
}

/** A setup problem the person can fix (a wrong token): shown as is, exit code 1. */
export class SetupError extends Error {}

/** `carapace channel add|remove|pair <name>` for a bot channel: what the platform side needs and how to check it. */
export interface ChannelSetup {
  /** Options of `carapace channel add <name>`, as commander flags ("--token-file <path>") with their help. */
  addOptions: { flags: string; description: string }[];
  /** Help after the options: where the token comes from, what to switch on in the platform's settings. */
  addHelp: string;
  /**
   * Ask for or read the credentials, prove them against the platform, and save them owner-only. Resolves to the
   * account line shown to the user ("@carapace_bot (Carapace)"); throws SetupError naming what is wrong.
   */
  add(opts: Record<string, unknown>, io: SetupIO): Promise<string>;
  /** The saved account ("@carapace_bot"), or undefined when the channel is not set up. */
  account(config: Config): string | undefined;
  /** Forget the saved credentials. */
  remove(config: Config): void;
  /** Where the owner sends the pairing code, read after "send the code to" ("@carapace_bot in a direct message"). */
  pairHint(config: Config): string;
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
  /** Present on bot channels set up from the command line (`carapace channel add <name>`). */
  readonly setup?: ChannelSetup;
}
