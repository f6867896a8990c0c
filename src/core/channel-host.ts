// What channels may ask of the host: group folders for media, chat names, readiness, the main chat, and for bot
// channels their owner, pairing codes and threads.
import type { ChannelHost } from '../channels/channel.js';
import { ensureSandboxDir } from '../fs/paths.js';
import { AgentTree } from '../fs/safe-write.js';
import { GROUP_MOUNT } from '../ipc/protocol.js';
import { openThread, strangerDm } from './bot-owners.js';
import type { Core } from './core.js';
import { approvalDesk } from './egress-approvals.js';
import { postNotice } from './notes.js';
import { claimMain } from './registration.js';
import { isoInZone } from '../time.js';

/** What channels may ask of the host: group folders for media, chat names, readiness, the main chat. */
export function channelHost(core: Core): ChannelHost {
  const { store, config, paths } = core;
  const desk = approvalDesk(config.dataDir);
  desk.bind(core); // this orchestrator answers the install's approval cards from now on
  return {
    groupFolder: (chatId) => {
      const group = store.groupByChat(chatId);
      if (!group) return undefined;
      // Every write goes through AgentTree: a link or non-directory the agent planted is refused, never followed.
      const tree = new AgentTree(ensureSandboxDir(paths.group(group.workspace), config.sandbox), config.sandbox);
      return { sandboxPath: GROUP_MOUNT, save: (rel, data) => void tree.write(rel, data) };
    },
    notice: (chatId, key, text) => {
      const group = store.groupByChat(chatId);
      if (group && group.mode !== 'source') postNotice(core, group, key, text); // a watched source is never written to
    },
    chatsSeen: (chats) => {
      for (const chat of chats) store.upsertChat(chat);
    },
    ready: () => core.delivery.kick(),
    mainChat: (chat) => claimMain(core, chat),
    isRegistered: (chatId) => store.groupByChat(chatId) !== undefined,
    newestStored: (prefix) => store.newestPlatformIds(prefix),
    tellMain: (key, text) => {
      const main = store.mainGroup();
      if (main) postNotice(core, main, key, text);
    },
    openThread: (parent, thread) => openThread(core, parent, thread),
    owner: (channel) => store.ownerOf(channel),
    strangerDm: (channel, sender, chat, text) => strangerDm(core, channel, sender, chat, text),
    answer: async (cardId, choice, from) => desk.answer(cardId, choice, from),
  };
}

/**
 * A reply could not go to a chat that refused the bot for good: the main chat hears of it once a day per chat
 * (unless the main chat is the one refusing, which only the log can report).
 */
export function tellUnreachable(core: Core, chatId: string, reason: string): void {
  const main = core.store.mainGroup();
  if (!main || main.chatId === chatId) return;
  const name = core.store.chatById(chatId)?.name ?? chatId;
  const day = isoInZone(Date.now(), core.config.timeZone).slice(0, 10);
  postNotice(
    core,
    main,
    `unreachable-${chatId}-${day}`,
    `I could not deliver a reply to "${name}" (${chatId}): ${reason}. The bot was probably removed from that chat or blocked there; add it back, or unregister the chat.`,
  );
}
