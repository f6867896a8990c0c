// The front door of the bot channels (Telegram, Slack, Discord): a bot anyone can message talks only to its owner.
// `carapace channel pair <name>` issues a one-time code; whoever sends it to the bot in a direct message first
// becomes the owner, and that DM is registered (as the main chat while main is still the local chat). Everyone
// else is told once a day that the assistant is private, and nothing of theirs is stored. Threads of registered
// chats become conversations of their own here too.
import { createHash, randomInt } from 'node:crypto';
import type { ChatInfo, StrangerVerdict } from '../channels/channel.js';
import { threadFolder } from '../store/groups.js';
import { normaliseCode, type Group } from '../store/store.js';
import { isoInZone } from '../time.js';
import type { Core } from './core.js';
import { claimMain, registerGroup } from './registration.js';

export const PAIRING_CODE_TTL_MS = 10 * 60_000;
/** No 0/O or 1/I: the owner reads the code off a terminal and types it on a phone. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 8;

/** A fresh one-time code, "ABCD-EFGH" (40 bits; it lives ten minutes and dies after ten wrong guesses). */
export function newPairingCode(): string {
  const chars = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]);
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

const looksLikeCode = (text: string) => new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`).test(normaliseCode(text));

export function strangerDm(core: Core, channel: string, sender: { userId: string; name: string }, chat: ChatInfo, text: string): StrangerVerdict {
  const { store, log, config } = core;
  const typed = text.trim();
  const shaped = looksLikeCode(typed);
  const outcome = store.redeemPairingCode(channel, typed, { userId: sender.userId, chatId: chat.chatId, name: sender.name }, shaped);
  if (outcome === 'paired') {
    const where = registerOwnerChat(core, { ...chat, name: chat.name ?? sender.name });
    log.info({ channel, owner: sender.userId, chat: chat.chatId, main: where.isMain }, 'channel paired with its owner');
    const role = where.isMain
      ? 'This chat is now your main chat: I answer everything you write here, and you run Carapace from here.'
      : `This chat is registered as "${where.name}"; your main chat stays where it is.`;
    return { paired: true, reply: `Paired: you are my owner on ${channel} now. ${role}` };
  }
  if (outcome === 'wrong' && shaped) {
    return { paired: false, reply: `That code is not the live one (codes expire after 10 minutes). Run \`carapace channel pair ${channel}\` for a new one.` };
  }
  if (!store.firstRefusalToday(channel, sender.userId, isoInZone(Date.now(), config.timeZone).slice(0, 10))) return { paired: false };
  log.info({ channel, sender: sender.userId }, 'refused a message from someone who is not the owner');
  return {
    paired: false,
    reply:
      "Sorry, I am a private assistant and answer only my owner. (If that is you: run `carapace channel pair " +
      `${channel}\` on the computer Carapace runs on and send me the code it shows.)`,
  };
}

/** The owner's DM: main if main may move there (it is still on the local chat), else an ordinary chat of its own. */
function registerOwnerChat(core: Core, chat: ChatInfo): Group {
  const { store, config } = core;
  const existing = store.groupByChat(chat.chatId);
  if (existing) return existing;
  const move = claimMain(core, chat);
  if (move.outcome !== 'refused') return move.main;
  const channel = chat.chatId.split(':', 1)[0];
  const taken = new Set(store.listGroups().map((g) => g.folder));
  let folder = `${channel}-owner`;
  for (let n = 2; taken.has(folder); n++) folder = `${channel}-owner-${n}`;
  const name = chat.name ?? chat.chatId;
  return registerGroup(core, { channel, chatId: chat.chatId, name, folder, trigger: `@${config.assistantName}`, requiresTrigger: false, isMain: false });
}

/** A thread of a registered chat: a group of its own in the parent's folder (registered on first use). */
export function openThread(core: Core, parentChatId: string, thread: ChatInfo): boolean {
  const { store, log } = core;
  let parent = store.groupByChat(parentChatId);
  if (parent?.parentId) parent = store.groupById(parent.parentId); // a thread's thread belongs to the same chat
  if (!parent) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest('hex');
  const { group, created } = store.registerThread(parent, thread, threadFolder(parent, thread.chatId, digest));
  if (created) log.info({ parent: parent.folder, thread: thread.chatId, folder: group.folder }, 'thread registered as a conversation of its own');
  return true;
}
