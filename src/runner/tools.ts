import { createSdkMcpServer, tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import type { OutputBody, StartRequest } from '../ipc/protocol.js';

const MAX_MESSAGE_CHARS = 32_000;

/** The product's tools, served in-process to the SDK as the "carapace" MCP server. */
export function createCarapaceTools(ctx: { emit: (o: OutputBody) => void; start: StartRequest }) {
  return createSdkMcpServer({
    name: 'carapace',
    version: '1.0.0',
    tools: [
      tool(
        'send_message',
        'Send a message to this chat right now, while you keep working (progress updates, partial answers).',
        { text: z.string().min(1).max(MAX_MESSAGE_CHARS).describe('The message text') },
        async ({ text }) => {
          ctx.emit({ type: 'message', text });
          return { content: [{ type: 'text', text: `Sent to ${ctx.start.chatId}.` }] };
        },
      ),
    ],
  });
}
