import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, reply, type ToolContext } from './context.js';

const MAX_MESSAGE_CHARS = 32_000;

export const messageTools = (ctx: ToolContext) => [
  tool(
    'send_message',
    'Send a message to this chat right now, while you keep working (progress updates, partial answers). ' +
      'In a team, set sender to your role so the chat sees who is speaking. The main chat may also send to another ' +
      'registered chat by giving its chatId; other chats can only message themselves.',
    {
      text: z.string().min(1).max(MAX_MESSAGE_CHARS).describe('The message text'),
      sender: z.string().min(1).max(40).optional().describe('Role name shown as the sender, e.g. "Researcher"'),
      chatId: z.string().optional().describe('Another chat to send to (main chat only); omit for this chat'),
    },
    async ({ text, sender, chatId }) => {
      // Another chat is the host's decision (it knows who may); this chat is a plain output.
      if (chatId !== undefined && chatId !== ctx.start.chatId) return ask(ctx, 'send_message', { chatId, text, sender });
      ctx.emit({ type: 'message', text, sender });
      return reply(`Sent to ${ctx.start.chatId}.`);
    },
  ),
];
