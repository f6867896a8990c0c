// Requests from agents (tools that read or change host state). Authority comes only from the run the request
// came from — the group whose run directory it was found in — never from anything inside the request.
import { z } from 'zod';
import type { Group } from '../store/store.js';
import { normalizeHost } from '../boundary/egress-policy.js';
import { validateContainerConfig } from '../groups/group-config.js';
import { op, OpError, type Op, type OpContext } from './op.js';
import { taskOps } from './task-ops.js';
import { messageOps } from './message-ops.js';
import { registerChat } from './register.js';
import { assertNotSource } from './delivery-target.js';
import { groupOps } from './group-ops.js';
import { spendOps } from './spend-ops.js';
import { secretOps } from './secret-ops.js';

export { OpError, type OpContext, type OpHost } from './op.js';

/**
 * The chat a request may act on: its own chat always, another chat only from main (and only a chat the store
 * knows). Throws an OpError the agent sees.
 */
export function authorizeTarget(ctx: Pick<OpContext, 'group' | 'store'>, chatId: string | undefined): string {
  if (chatId === undefined || chatId === ctx.group.chatId) return ctx.group.chatId;
  if (!ctx.group.isMain) throw new OpError(`this chat may only act on itself, not on ${chatId}; only the main chat can reach other chats`);
  if (!ctx.store.chatExists(chatId)) throw new OpError(`unknown chat ${chatId}`);
  return chatId;
}

/** The registered group a request may act on: its own by default, another (by chat id) only from main. */
export function authorizeGroup(ctx: Pick<OpContext, 'group' | 'store'>, chatId: string | undefined): Group {
  const target = authorizeTarget(ctx, chatId);
  const group = ctx.store.groupByChat(target);
  if (!group) throw new OpError(`${target} is not a registered chat`);
  return group;
}

const ops: Record<string, Op<unknown>> = {
  list_groups: op({
    mainOnly: true,
    args: z.object({}),
    run: ({ store }) =>
      store.listGroups().map((g) => ({
        name: g.name,
        chatId: g.chatId,
        folder: g.folder,
        trigger: g.requiresTrigger ? g.trigger : null,
        isMain: g.isMain,
        mode: g.mode,
      })),
  }),

  list_chats: op({
    mainOnly: true,
    args: z.object({ query: z.string().max(200).optional() }),
    run: ({ store }, { query }) =>
      store.listChats(query).map((c) => ({
        chatId: c.chatId,
        name: c.name,
        isGroup: c.isGroup,
        lastMessageAt: c.lastMessageAt ? new Date(c.lastMessageAt).toISOString() : null,
        registeredAs: c.folder,
      })),
  }),

  send_message: op({
    mainOnly: false,
    args: z.object({ chatId: z.string().min(1).max(200), text: z.string().min(1).max(32_000), sender: z.string().min(1).max(40).optional() }),
    run: (ctx, { chatId, text, sender }) => {
      const target = authorizeTarget(ctx, chatId);
      const group = ctx.store.groupByChat(target);
      if (group) assertNotSource(group, 'nothing is ever sent there');
      ctx.store.queueOutput({ runId: ctx.runId, seq: ctx.seq, chatId: target, text, groupId: ctx.group.id, sender });
      ctx.host.deliver();
      return `Sent to ${target}.`;
    },
  }),

  register_group: op({
    mainOnly: true,
    args: z.object({
      chatId: z.string().regex(/^[a-z][a-z0-9-]*:.+$/, 'a namespaced chat id like "wa:123@g.us"').max(200),
      name: z.string().trim().min(1).max(100).optional(),
      folder: z.string(),
      trigger: z.string().min(1).max(50).optional(),
      requiresTrigger: z.boolean().optional(),
      mode: z.enum(['agent', 'source']).optional(),
    }),
    run: (ctx, a) => registerChat(ctx, a),
  }),

  allowed_domains: op({
    mainOnly: false,
    args: z.object({ chatId: z.string().optional() }),
    run: (ctx, { chatId }) => {
      const group = authorizeGroup(ctx, chatId);
      const own = (group.containerConfig.egress as { allow?: string[] } | undefined)?.allow;
      return { chatId: group.chatId, allow: own ?? ctx.host.defaultEgressAllow, usesDefault: own === undefined };
    },
  }),

  request_access: op({
    mainOnly: false,
    args: z.object({ host: z.string().trim().min(1).max(253), reason: z.string().trim().min(1).max(500) }),
    run: (ctx, { host, reason }) => {
      const name = normalizeHost(host.replace(/:\d+$/, ''));
      ctx.host.groups.noteAccessReason(ctx.group, name, reason);
      return `Noted. When you connect to ${name} and it is not on this chat's list, the owner is asked in the main chat with your reason; the connection waits for the answer.`;
    },
  }),

  set_allowed_domains: op({
    mainOnly: true,
    args: z.object({ chatId: z.string().optional(), domains: z.array(z.string()).max(500) }),
    run: (ctx, { chatId, domains }) => {
      const group = authorizeGroup(ctx, chatId);
      try {
        validateContainerConfig({ egress: { allow: domains } }, group.name);
      } catch (err) {
        throw new OpError((err as Error).message);
      }
      ctx.store.setContainerConfig(group.id, { ...group.containerConfig, egress: { allow: domains } });
      return { chatId: group.chatId, allow: domains };
    },
  }),

  ...taskOps,
  ...messageOps,
  ...groupOps,
  ...spendOps,
  ...secretOps,
};

/** Run a request, or throw an OpError whose message the agent sees. */
export async function runOp(ctx: OpContext, name: string, args: unknown): Promise<unknown> {
  const entry = Object.hasOwn(ops, name) ? ops[name] : undefined;
  if (!entry) throw new OpError(`unknown operation "${name}"`);
  if (entry.mainOnly && !ctx.group.isMain) throw new OpError(`${name} is only available in the main chat`);
  const parsed = entry.args.safeParse(args ?? {});
  if (!parsed.success) throw new OpError(`bad arguments for ${name}: ${z.prettifyError(parsed.error)}`);
  return entry.run(ctx, parsed.data);
}
