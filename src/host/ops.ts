// Requests from agents (tools that read or change host state). Authority comes only from the run the request
// came from — the group whose run directory it was found in — never from anything inside the request.
import { OpError, type Op, type OpContext } from './op.js';
import { taskOps } from './tasks.js';

export { OpError, type OpContext };

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
  ...taskOps,
};

/** Run a request, or throw an OpError whose message the agent sees. */
export async function runOp(ctx: OpContext, op: string, args: unknown): Promise<unknown> {
  const entry = Object.hasOwn(ops, op) ? ops[op] : undefined;
  if (!entry) throw new OpError(`unknown operation "${op}"`);
  if (entry.mainOnly && !ctx.group.isMain) throw new OpError(`${op} is only available in the main chat`);
  return entry.run(ctx, args);
}
