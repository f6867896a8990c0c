import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { reply, type ToolContext } from './context.js';

const MAX_MESSAGE_CHARS = 32_000;

export const messageTools = (ctx: ToolContext) => [
  tool(
    'send_message',
    'Send a message to this chat right now, while you keep working (progress updates, partial answers).',
    { text: z.string().min(1).max(MAX_MESSAGE_CHARS).describe('The message text') },
    async ({ text }) => {
      ctx.emit({ type: 'message', text });
      return reply(`Sent to ${ctx.start.chatId}.`);
    },
  ),
];
