import { tool } from '@anthropic-ai/claude-agent-sdk';
import { readMessagesShape, watchChatShape } from '../../ipc/message-args.js';
import { ask, type ToolContext } from './context.js';

/** Reading stored chat history (any chat from main, this one elsewhere) and watching chats as sources (main). */
export const sourceTools = (ctx: ToolContext) => [
  tool(
    'read_messages',
    'Read stored messages of a chat: a time window (since/until) or the last N, optionally only from one sender or ' +
      'containing some text. The answer is bounded and says what was left out. ' +
      (ctx.start.isMain ? 'As the main chat you may read any chat, including watched sources.' : 'This chat can read only its own messages.'),
    readMessagesShape,
    (args) => ask(ctx, 'read_messages', args),
  ),
  ...(!ctx.start.isMain
    ? []
    : [
        tool(
          'watch_chat',
          'Watch a chat as a source ("watch the Neighbours group"): its messages are stored so you can read and ' +
            'summarise them with read_messages, but you never answer, join in or send anything there.',
          watchChatShape,
          (args) => ask(ctx, 'watch_chat', args),
        ),
      ]),
];
