// Registering chats as groups (each with its folder and starter memory), where the main chat lives, and what
// channels may ask of the host.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelHost, ChatInfo } from '../channels/channel.js';
import { GROUP_MOUNT } from '../ipc/protocol.js';
import { groupMemory } from '../memory/templates.js';
import { ensureSandboxDir, giveToSandbox } from '../fs/paths.js';
import { groupLimits } from '../groups/container-config.js';
import type { Group, Store } from '../store/store.js';
import { channelOf, type Core } from './core.js';

export type NewGroup = Parameters<Store['registerGroup']>[0];

/** Register a chat as a group: its folder (with a starter CLAUDE.md) is created now. */
export function registerGroup(core: Core, g: NewGroup): Group {
  groupLimits(g.containerConfig ?? {}, g.name); // refuse bad limits now, not at the group's first run
  const group = core.store.registerGroup(g);
  const dir = ensureSandboxDir(core.paths.group(group.folder), core.config.sandbox);
  const { assistantName } = core.config;
  writeOnce(core, join(dir, 'CLAUDE.md'), groupMemory({ groupName: group.name, assistantName, isMain: group.isMain }));
  return group;
}

/** Create a memory file from its template unless the agent already has one; the sandbox owns it. */
export function writeOnce(core: Pick<Core, 'config'>, file: string, text: string): void {
  try {
    // 'wx': anything already under that name (even a dangling link the agent planted) stays untouched.
    writeFileSync(file, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  giveToSandbox(file, core.config.sandbox);
}

/**
 * A channel says which of its chats is the owner's main chat (WhatsApp: the self-chat). The main group (its
 * folder, memory and session) moves there from a chat whose channel keeps a group of its own when main leaves
 * (`fallbackFolder`: the local chat), or from another chat of the same channel. A main chat on any other
 * channel is left alone.
 */
export function claimMain(core: Core, chat: ChatInfo): void {
  const { store, log, config } = core;
  const main = store.listGroups().find((g) => g.isMain);
  if (main?.chatId === chat.chatId) return;
  const channel = chat.chatId.split(':', 1)[0];
  const taken = store.groupByChat(chat.chatId);
  if (taken) {
    log.error({ chat: chat.chatId, folder: taken.folder }, 'the configured main chat is registered as another group; main stays where it is');
    return;
  }
  const name = chat.name ?? chat.chatId;
  if (!main) {
    registerGroup(core, { channel, chatId: chat.chatId, name, folder: 'main', trigger: `@${config.assistantName}`, requiresTrigger: false, isMain: true });
    return;
  }
  const fallbackFolder = channelOf(core, main.chatId)?.fallbackFolder;
  if (!fallbackFolder && main.channel !== channel) {
    log.warn({ main: main.chatId, offered: chat.chatId }, 'main chat belongs to another channel; leaving it there');
    return;
  }
  store.rebindGroup(main.id, { chatId: chat.chatId, name });
  log.info({ from: main.chatId, to: chat.chatId }, 'main chat moved');
  if (fallbackFolder && !store.listGroups().some((g) => g.folder === fallbackFolder)) {
    const { chatId, name: oldName, trigger } = main;
    registerGroup(core, { channel: main.channel, chatId, name: oldName, folder: fallbackFolder, trigger, requiresTrigger: false, isMain: false });
  }
}

/** What channels may ask of the host: group folders for media, chat names, readiness, the main chat. */
export function channelHost(core: Core): ChannelHost {
  const { store, config, paths } = core;
  return {
    groupFolder: (chatId) => {
      const group = store.groupByChat(chatId);
      if (!group) return undefined;
      return {
        hostPath: ensureSandboxDir(paths.group(group.folder), config.sandbox),
        sandboxPath: GROUP_MOUNT,
        adopt: (path) => giveToSandbox(path, config.sandbox),
      };
    },
    chatsSeen: (chats) => {
      for (const chat of chats) store.upsertChat(chat);
    },
    ready: () => core.delivery.kick(),
    mainChat: (chat) => claimMain(core, chat),
  };
}
