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

/**
 * Make `chat` the main chat. With no main group yet, one is registered there (folder "main"). Otherwise the main
 * group moves from the local chat, or from another chat of the same channel; the local chat it leaves stays
 * answered as an ordinary group (folder "local"). Refused: a chat already registered as another group, and a
 * main group on another channel (two channels must not fight over it).
 */
export function moveMain(db: DB, chat: ChatInfo, defaults: { trigger: string }): MainMove {
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
    if (main.channel !== 'local' && main.channel !== channel) {
      return { outcome: 'refused', reason: 'main-on-another-channel', main, created: [] };
    }
    const moved = rebindGroup(db, main.id, { chatId: chat.chatId, name });
    const keepLocal = main.channel === 'local' && !listGroups(db).some((g) => g.folder === 'local');
    const created = keepLocal
      ? [registerGroup(db, { channel: 'local', chatId: main.chatId, name: main.name, folder: 'local', trigger: main.trigger, requiresTrigger: false, isMain: false })]
      : [];
    return { outcome: 'moved', main: moved, from: main.chatId, created };
  }).immediate();
}
