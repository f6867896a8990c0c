// Registering a chat from the main chat: as a group the assistant answers in, or as a watched source.
import type { GroupMode } from '../store/store.js';
import { assertFolderName } from '../fs/paths.js';
import { OpError, type OpContext } from './op.js';

export interface RegisterRequest {
  chatId: string;
  folder: string;
  name?: string;
  trigger?: string;
  requiresTrigger?: boolean;
  mode?: GroupMode;
}

/** Register a chat the store knows; every refusal says what to do instead. */
export function registerChat(ctx: OpContext, a: RegisterRequest) {
  try {
    assertFolderName(a.folder);
  } catch (err) {
    throw new OpError((err as Error).message);
  }
  const chat = ctx.store.chatById(a.chatId);
  if (!chat) throw new OpError(`no chat ${a.chatId} is known; use list_chats to find its id`);
  if (chat.folder) throw new OpError(`${a.chatId} is already registered (folder "${chat.folder}")`);
  if (ctx.store.listGroups().some((g) => g.folder === a.folder)) throw new OpError(`folder "${a.folder}" is taken; choose another`);
  const group = ctx.host.registerGroup({
    channel: chat.channel,
    chatId: chat.chatId,
    name: a.name ?? chat.name ?? chat.chatId,
    folder: a.folder,
    trigger: a.trigger ?? ctx.group.trigger,
    requiresTrigger: a.requiresTrigger ?? true,
    isMain: false,
    mode: a.mode ?? 'agent',
  });
  const trigger = group.mode === 'source' || !group.requiresTrigger ? null : group.trigger;
  return { name: group.name, chatId: group.chatId, folder: group.folder, trigger, mode: group.mode };
}

/** A free folder name made from a chat's name: "Neighbours & Co" → "neighbours-co" (then "-2", "-3"… if taken). */
export function folderFor(ctx: Pick<OpContext, 'store'>, name: string): string {
  const base = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'source';
  const taken = new Set(ctx.store.listGroups().map((g) => g.folder));
  let folder = base;
  for (let n = 2; taken.has(folder); n++) folder = `${base}-${n}`;
  return folder;
}
