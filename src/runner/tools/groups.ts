import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, type ToolContext } from './context.js';

/** Administration tools, offered to the main chat only (the host enforces it regardless). */
export const groupTools = (ctx: ToolContext) =>
  !ctx.start.isMain
    ? []
    : [
        tool('list_groups', 'List the chats registered with the assistant: name, chat id, folder, trigger, mode (agent or watched source).', {}, () =>
          ask(ctx, 'list_groups', {}),
        ),
        tool(
          'list_chats',
          'List chats the assistant has seen on its channels (e.g. WhatsApp groups and DMs), registered or not, ' +
            'most recently active first. Use it to find the chat id of a group the owner wants to add.',
          { query: z.string().max(200).optional().describe('Only chats whose name or id contains this text') },
          (args) => ask(ctx, 'list_chats', args),
        ),
        tool(
          'register_group',
          'Register a chat so the assistant answers there ("join the Family group"). It gets its own folder and ' +
            'memory; by default it answers only messages that start with the trigger word.',
          {
            chatId: z.string().describe('The chat id from list_chats, e.g. "wa:120363012345678901@g.us"'),
            folder: z.string().describe('A new folder name: letters, digits, "-" or "_", e.g. "family"'),
            name: z.string().optional().describe('Display name (defaults to the chat name)'),
            trigger: z.string().optional().describe('Trigger word (defaults to the main chat\'s, e.g. "@Andy")'),
            requiresTrigger: z.boolean().optional().describe('false: answer every message (only for private chats)'),
            mode: z
              .enum(['agent', 'source'])
              .optional()
              .describe('source: only watch it (store its messages for read_messages, never answer or send there)'),
          },
          (args) => ask(ctx, 'register_group', args),
        ),
      ];
