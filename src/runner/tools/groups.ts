import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, type ToolContext } from './context.js';

/** Administration tools, offered to the main chat only (the host enforces it regardless). */
export const groupTools = (ctx: ToolContext) =>
  !ctx.start.isMain
    ? []
    : [
        tool('list_groups', 'List the chats registered with the assistant: name, chat id, folder, trigger.', {}, () =>
          ask(ctx, 'list_groups', {}),
        ),
        tool(
          'register_group',
          'Register a chat so the assistant answers there, with its own folder and memory.',
          {
            chatId: z.string().describe('Namespaced chat id, e.g. "wa:123@g.us"'),
            name: z.string().describe('Display name'),
            folder: z.string().describe('Folder name: letters, digits, "-" or "_"'),
            trigger: z.string().optional().describe('Trigger word (default: the main chat\'s)'),
            requiresTrigger: z.boolean().optional().describe('Answer only when triggered (default true)'),
          },
          (args) => ask(ctx, 'register_group', args),
        ),
      ];
