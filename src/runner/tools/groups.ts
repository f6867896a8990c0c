import { tool } from '@anthropic-ai/claude-agent-sdk';
import { failure, reply, type ToolContext } from './context.js';

/** Administration tools, offered to the main chat only (the host enforces it regardless). */
export const groupTools = (ctx: ToolContext) =>
  !ctx.start.isMain
    ? []
    : [
        tool('list_groups', 'List the chats registered with the assistant: name, chat id, folder, trigger.', {}, async () => {
          try {
            return reply(JSON.stringify(await ctx.request('list_groups', {}), null, 2));
          } catch (err) {
            return failure((err as Error).message);
          }
        }),
      ];
