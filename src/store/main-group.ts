// Where the main group lives. A channel names the owner's own chat (WhatsApp: the self-chat) and the main group
// moves there; the decision and the write are one immediate transaction, so two claims (two processes, or two
// connections) never interleave between "where is main?" and "put it here".
import type { DB } from './db.js';
import { groupByChat, listGroups, mainGroup, rebindGroup, registerGroup, type Group } from './groups.js';
import { channelOf, type ChatInfo } from './types.js';

/** What a claim did. `created`: groups newly registered by it, whose folders the caller prepares. */
export type MainMove =
  | { outcome: 'unchanged'; main: Group; created: [] }
  | { outcome: 'created'; main: Group; created: Group[] }
  | { outcome: 'moved'; main: Group; from: string; created: Group[] }
  | { outcome: 'refused'; reason: 'chat-is-another-group'; taken: Group; created: [] }
  | { outcome: 'refused'; reason: 'main-on-another-channel'; main: Group; created: [] };

export interface MainDefaults {
  /** The trigger of a newly created main group. */
  trigger: string;
  /** The folder a chat keeps as an ordinary group when main leaves it, if its channel keeps one (local chat). */
  fallbackFolder: (chatId: string) => string | undefined;
}

/**
 * Make `chat` the main chat. With no main group yet, one is registered there (folder "main"). Otherwise the main
 * group moves from a chat whose channel has a fallback folder (the local chat), which stays answered as an
 * ordinary group in that folder, or from another chat of the same channel. Refused: a chat already registered
 * as another group, and a main group on another channel (two channels must not fight over it).
 */
export function moveMain(db: DB, chat: ChatInfo, defaults: MainDefaults): MainMove {
  return db.transaction((): MainMove => {
    const main = mainGroup(db);
    if (main?.chatId === chat.chatId) return { outcome: 'unchanged', main, created: [] };
    const taken = groupByChat(db, chat.chatId);
    if (taken) return { outcome: 'refused', reason: 'chat-is-another-group', taken, created: [] };
    const channel = channelOf(chat.chatId);
    const name = chat.name ?? chat.chatId;
    if (!main) {
      const created = registerGroup(db, {
        channel,
        chatId: chat.chatId,
        name,
        folder: 'main',
        trigger: defaults.trigger,
        requiresTrigger: false,
        isMain: true,
      });
      return { outcome: 'created', main: created, created: [created] };
    }
    const fallback = defaults.fallbackFolder(main.chatId);
    if (!fallback && main.channel !== channel) {
      return { outcome: 'refused', reason: 'main-on-another-channel', main, created: [] };
    }
    const moved = rebindGroup(db, main.id, { chatId: chat.chatId, name });
    const keep = fallback && !listGroups(db).some((g) => g.folder === fallback);
    const { chatId, name: oldName, trigger } = main;
    const created = keep ? [registerGroup(db, { channel: main.channel, chatId, name: oldName, folder: fallback, trigger, requiresTrigger: false, isMain: false })] : [];
    return { outcome: 'moved', main: moved, from: main.chatId, created };
  }).immediate();
}
