// Requests from agents (tools that read or change host state). Authority comes only from the run the request
// came from — the group whose run directory it was found in — never from anything inside the request.
import { z } from 'zod';
import type { Store, Group } from '../store/store.js';
import { assertFolderName } from './paths.js';

export interface OpContext {
  /** The group whose sandbox sent the request. */
  group: Group;
  runId: string;
  store: Store;
  /** Register a chat as a group (creates its folder); the orchestrator's, so both paths do the same. */
  registerGroup: (g: Parameters<Store['registerGroup']>[0]) => Group;
}

export class OpError extends Error {}

interface Op {
  mainOnly: boolean;
  run: (ctx: OpContext, args: unknown) => unknown;
}

/** Parse an op's arguments, or fail with a message the agent can act on. */
function parse<T>(schema: z.ZodType<T>, args: unknown): T {
  const result = schema.safeParse(args ?? {});
  if (!result.success) throw new OpError(`bad arguments: ${result.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}`);
  return result.data;
}

const listChatsArgs = z.object({ query: z.string().max(200).optional() });
const registerArgs = z.object({
  chatId: z.string().min(1).max(300),
  folder: z.string(),
  name: z.string().trim().min(1).max(100).optional(),
  trigger: z.string().trim().min(1).max(50).optional(),
  requiresTrigger: z.boolean().optional(),
});

const ops: Record<string, Op> = {
  list_groups: {
    mainOnly: true,
    run: ({ store }) =>
      store.listGroups().map((g) => ({
        name: g.name,
        chatId: g.chatId,
        folder: g.folder,
        trigger: g.requiresTrigger ? g.trigger : null,
        isMain: g.isMain,
      })),
  },
  list_chats: {
    mainOnly: true,
    run: ({ store }, args) =>
      store.listChats(parse(listChatsArgs, args).query).map((c) => ({
        chatId: c.chatId,
        name: c.name,
        isGroup: c.isGroup,
        lastMessageAt: c.lastMessageAt ? new Date(c.lastMessageAt).toISOString() : null,
        registeredAs: c.folder,
      })),
  },
  register_group: {
    mainOnly: true,
    run: (ctx, args) => {
      const a = parse(registerArgs, args);
      try {
        assertFolderName(a.folder);
      } catch (err) {
        throw new OpError((err as Error).message);
      }
      const chat = ctx.store.chatById(a.chatId);
      if (!chat) throw new OpError(`no chat ${a.chatId} is known; use list_chats to find its id`);
      if (chat.folder) throw new OpError(`${a.chatId} is already registered (folder "${chat.folder}")`);
      if (ctx.store.listGroups().some((g) => g.folder === a.folder)) throw new OpError(`folder "${a.folder}" is taken; choose another`);
      const g = ctx.registerGroup({
        channel: chat.channel,
        chatId: chat.chatId,
        name: a.name ?? chat.name ?? chat.chatId,
        folder: a.folder,
        trigger: a.trigger ?? ctx.group.trigger,
        requiresTrigger: a.requiresTrigger ?? true,
        isMain: false,
      });
      return { name: g.name, chatId: g.chatId, folder: g.folder, trigger: g.requiresTrigger ? g.trigger : null };
    },
  },
};

/** Run a request, or throw an OpError whose message the agent sees. */
export async function runOp(ctx: OpContext, op: string, args: unknown): Promise<unknown> {
  const entry = Object.hasOwn(ops, op) ? ops[op] : undefined;
  if (!entry) throw new OpError(`unknown operation "${op}"`);
  if (entry.mainOnly && !ctx.group.isMain) throw new OpError(`${op} is only available in the main chat`);
  return entry.run(ctx, args);
}
