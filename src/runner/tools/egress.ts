import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, type ToolContext } from './context.js';

/** The web allowlist: every chat may read its own; the main chat may change any chat's. */
export const egressTools = (ctx: ToolContext) => [
  tool(
    'allowed_domains',
    'Show which web sites this chat may reach (everything else is blocked by the proxy).',
    { chatId: z.string().optional().describe('Another chat (main chat only)') },
    (args) => ask(ctx, 'allowed_domains', args),
  ),
  tool(
    'request_access',
    'Before connecting to a web site that is not on this chat\'s list, say in one line why you need it. The owner ' +
      'is asked in the main chat when you connect (allow once, allow for this chat, or deny) and sees your reason; ' +
      'the connection waits for the answer, and a refusal or no answer fails it with a clear error.',
    {
      host: z.string().describe('The site, e.g. "api.github.com"'),
      reason: z.string().describe('One line: why this chat needs it'),
    },
    (args) => ask(ctx, 'request_access', args),
  ),
  ...(!ctx.start.isMain
    ? []
    : [
        tool(
          'set_allowed_domains',
          'Replace the list of web sites a chat may reach. Entries: "example.com", "*.example.com" (subdomains), ' +
            'optionally with ":port" (default ports 80 and 443).',
          {
            chatId: z.string().optional().describe('The chat to change (default: this one)'),
            domains: z.array(z.string()).describe('The complete new list'),
          },
          (args) => ask(ctx, 'set_allowed_domains', args),
        ),
      ]),
];
