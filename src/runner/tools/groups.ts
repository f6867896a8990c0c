import { hostTool, type ToolContext } from './context.js';

/** Administration tools, offered to the main chat only (the host enforces it regardless). */
export const groupTools = (ctx: ToolContext) =>
  !ctx.start.isMain
    ? []
    : [hostTool(ctx, 'list_groups', 'List the chats registered with the assistant: name, chat id, folder, trigger.', {})];
