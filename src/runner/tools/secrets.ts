import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, type ToolContext } from './context.js';

/** The secret vault, main chat only: which secrets exist and which chats may use them (values never come here). */
export const secretTools = (ctx: ToolContext) =>
  !ctx.start.isMain
    ? []
    : [
        tool('list_secrets', 'List the secrets in the vault: name, host, header, env variable and the chats granted each.', {}, (args) =>
          ask(ctx, 'list_secrets', args),
        ),
        tool(
          'grant_secret',
          "Let a chat's agent use a vault secret: it sees only a placeholder, which the egress proxy swaps for the value on requests to the secret's host.",
          { secret: z.string().describe('Secret name'), group: z.string().describe('The chat: folder or chat id') },
          (args) => ask(ctx, 'grant_secret', args),
        ),
        tool(
          'revoke_secret',
          'Take a vault secret away from a chat.',
          { secret: z.string().describe('Secret name'), group: z.string().describe('The chat: folder or chat id') },
          (args) => ask(ctx, 'revoke_secret', args),
        ),
      ];
