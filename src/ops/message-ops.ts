// Host ops for chats beyond the asking one: watching a chat as a source, and reading stored messages. Reading
// another chat is the main chat's privilege, enforced here; who asks comes from the run (OpContext.group).
import type { Group, StoredMessage } from '../store/store.js';
import { DEFAULT_READ_MESSAGES, readMessagesArgs, watchChatArgs } from '../ipc/message-args.js';
import { GROUP_MOUNT } from '../ipc/protocol.js';
import { formatMessages } from '../router/format.js';
import { parseDuration, parseOnce, ScheduleError } from '../tasks/schedule.js';
import { startOfDay } from '../time.js';
import { op, OpError, type Op, type OpContext } from './op.js';
import { folderFor, registerChat } from './register.js';

/** How much text one read_messages answer may carry (the newest messages are kept, a note says what was cut). */
export const MAX_READ_CHARS = 40_000;

/** The chat a read is about: this chat by default; another (by chat id or folder) only from main. */
function readableChat(ctx: OpContext, chat: string | undefined): { chatId: string; group?: Group } {
  const group = chat === undefined ? ctx.group : ctx.store.listGroups().find((g) => g.folder === chat || g.chatId === chat);
  const chatId = group?.chatId ?? chat!;
  if (chatId !== ctx.group.chatId && !ctx.group.isMain) {
    throw new OpError(`This chat can read only its own messages, not ${chat}; only the main chat can read other chats.`);
  }
  if (!ctx.store.chatExists(chatId)) throw new OpError(`No chat "${chat}" is known: use list_groups or list_chats for its id.`);
  return { chatId, group };
}

/** "today", a duration back from now ("24h"), or a time in the user's timezone. */
function instant(value: string, name: string, ctx: OpContext): number {
  const { now, timeZone } = ctx.host.tasks;
  const v = value.trim().toLowerCase();
  try {
    if (v === 'today') return startOfDay(now(), timeZone);
    if (/^\d+[a-z]/.test(v)) return now() - parseDuration(v);
    return parseOnce(value, timeZone);
  } catch (err) {
    if (err instanceof ScheduleError) throw new OpError(`${name}: ${err.message.replace(/^Invalid (interval|time)/, 'cannot read')}`);
    throw err;
  }
}

/**
 * Media is referenced by its path in the owning chat's folder; that path means something only in a sandbox that
 * mounts that folder. Elsewhere the reference says where the file is kept instead.
 */
function withMediaReachable(messages: StoredMessage[], owner: Group | undefined, reader: Group): StoredMessage[] {
  if (owner && owner.workspace === reader.workspace) return messages;
  const where = owner ? `kept in the "${owner.workspace}" folder, not mounted here` : 'not available here';
  const path = new RegExp(`${GROUP_MOUNT}/[^\\]\\s]*`, 'g');
  return messages.map((m) => (m.text.includes(GROUP_MOUNT) ? { ...m, text: m.text.replace(path, `(${where})`) } : m));
}

export const messageOps: Record<string, Op<unknown>> = {
  read_messages: op({
    mainOnly: false,
    args: readMessagesArgs,
    run: (ctx, a) => {
      const { chatId, group } = readableChat(ctx, a.chat);
      const since = a.since === undefined ? undefined : instant(a.since, 'since', ctx);
      const until = a.until === undefined ? undefined : instant(a.until, 'until', ctx);
      const limit = a.last ?? DEFAULT_READ_MESSAGES;
      const found = ctx.store.findMessages({ chatId, since, until, sender: a.sender, text: a.text, limit });
      const name = ctx.store.chatById(chatId)?.name ?? chatId;
      const older = found.total - found.messages.length;
      const header =
        `Chat "${name}" (${chatId}): ${found.total} matching message${found.total === 1 ? '' : 's'}` +
        (older > 0 ? `; the ${older} oldest were left out (give a later "since", an earlier "until", a filter, or a larger "last").` : '.');
      const messages = withMediaReachable(found.messages, group ?? ctx.store.groupByChat(chatId), ctx.group);
      const body = formatMessages(messages, ctx.host.tasks.timeZone, { maxMessages: limit, maxChars: MAX_READ_CHARS });
      return `${header}\n${body}`;
    },
  }),

  watch_chat: op({
    mainOnly: true,
    args: watchChatArgs,
    run: (ctx, a) => {
      const chat = ctx.store.chatById(a.chatId);
      const folder = a.folder ?? folderFor(ctx, a.name ?? chat?.name ?? a.chatId);
      const registered = registerChat(ctx, { chatId: a.chatId, folder, name: a.name, mode: 'source' });
      const note = 'Its messages are stored from now on; I never answer, join in or send there. Read them with read_messages.';
      return { ...registered, note };
    },
  }),
};
