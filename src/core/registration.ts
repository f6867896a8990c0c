// Registering chats as groups (each with its folder and starter memory), and where the main chat lives.
import { basename, dirname, join } from 'node:path';
import type { ChatInfo } from '../channels/channel.js';
import { groupMemory } from '../memory/templates.js';
import { ensureSandboxDir } from '../fs/paths.js';
import { AgentTree } from '../fs/safe-write.js';
import { validateContainerConfig } from '../groups/group-config.js';
import type { Group, MainMove, Store } from '../store/store.js';
import { channelOf, type Core } from './core.js';

export type NewGroup = Parameters<Store['registerGroup']>[0];

/** Register a chat as a group: its folder (with a starter CLAUDE.md) is created now. */
export function registerGroup(core: Core, g: NewGroup): Group {
  validateContainerConfig(g.containerConfig ?? {}, g.name); // refuse a bad config now, not at the group's first run
  const group = core.store.registerGroup(g);
  prepareGroupFolder(core, group);
  return group;
}

/** A registered group's folder, owned by the sandbox user, with its memory file. */
function prepareGroupFolder(core: Core, group: Group): void {
  const dir = ensureSandboxDir(core.paths.group(group.workspace), core.config.sandbox);
  const { assistantName } = core.config;
  writeOnce(core, join(dir, 'CLAUDE.md'), groupMemory({ groupName: group.name, assistantName, isMain: group.isMain }));
}

/** Create a memory file from its template unless the agent already has one (or planted anything there). */
export function writeOnce(core: Pick<Core, 'config'>, file: string, text: string): void {
  new AgentTree(dirname(file), core.config.sandbox).write(basename(file), text, { ifAbsent: true });
}

/**
 * A channel says which of its chats is the owner's main chat (WhatsApp: the self-chat); the main group (its
 * folder, memory and session) moves there if it may — one store transaction decides and writes
 * (`store.moveMain`); here the folders of groups it created are prepared and the outcome logged.
 */
export function claimMain(core: Core, chat: ChatInfo): MainMove {
  const { store, log, config } = core;
  const fallbackFolder = (chatId: string) => channelOf(core, chatId)?.fallbackFolder;
  const move = store.moveMain(chat, { trigger: `@${config.assistantName}`, fallbackFolder });
  for (const group of move.created) prepareGroupFolder(core, group);
  if (move.outcome === 'moved') log.info({ from: move.from, to: chat.chatId }, 'main chat moved');
  else if (move.outcome === 'refused' && move.reason === 'chat-is-another-group')
    log.error({ chat: chat.chatId, folder: move.taken.folder }, 'the configured main chat is registered as another group; main stays where it is');
  else if (move.outcome === 'refused') log.info({ main: move.main.chatId, offered: chat.chatId }, 'main chat belongs to another channel; leaving it there');
  return move;
}
