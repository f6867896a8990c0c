import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { ask, type ToolContext } from './context.js';

// The host validates every value against the settings schema and answers with a precise error; these shapes
// only tell the model what exists.
const group = z.string().describe('The group: its folder or chat id from list_groups (default: this chat)');
const settings = {
  name: z.string().optional().describe('Display name'),
  trigger: z.string().optional().describe('The word that calls the assistant, e.g. "@Andy"'),
  requiresTrigger: z.boolean().optional().describe('true: answer only messages starting with the trigger; false: every message'),
  allowedDomains: z.array(z.string()).nullable().optional().describe('Web sites it may reach ("example.com", "*.example.com"); null: the default list'),
  dailyTokenBudget: z.number().nullable().optional().describe('Tokens per day; null: none'),
  dailySpendUsd: z.number().nullable().optional().describe('US dollars per day; null: none'),
  limits: z
    .object({ memoryMb: z.number().optional(), pids: z.number().optional(), cpus: z.number().optional(), timeoutMs: z.number().optional() })
    .nullable()
    .optional()
    .describe('Sandbox limits; null: the defaults'),
  extraMounts: z
    .array(z.object({ hostPath: z.string(), containerPath: z.string().optional(), readonly: z.boolean().optional() }))
    .optional()
    .describe('Host folders mounted at /workspace/extra/<name>, only within the owner\'s mount allowlist; [] for none'),
  sessionCommands: z.boolean().optional().describe('May the chat use /clear and /compact'),
};

/** Chat settings and spend: every chat may look at its own; only the main chat changes anything. */
export const settingsTools = (ctx: ToolContext) => [
  tool('show_group', "Show a chat's settings (trigger, budgets, web access, mounts, limits) and its latest changes.", { group: group.optional() }, (args) =>
    ask(ctx, 'show_group', args),
  ),
  tool(
    'update_group',
    "Change a chat's settings; give only the settings to change. Only the main chat may change settings.",
    { group: group.optional(), ...settings },
    (args) => ask(ctx, 'update_group', args),
  ),
  tool('show_spend', "Today's and this month's model spend (dollars and tokens) per chat, with the daily budgets.", {}, () => ask(ctx, 'show_spend', {})),
  ...(!ctx.start.isMain
    ? []
    : [
        tool(
          'unregister_group',
          'Stop answering in a chat: its scheduled tasks are removed and its folder is archived (the answer says where).',
          { group: z.string().describe('Folder or chat id from list_groups') },
          (args) => ask(ctx, 'unregister_group', args),
        ),
        tool(
          'extend_budget',
          'Add to today\'s budget of a chat ("extend today by $2"), or of all chats together with group "total".',
          {
            group: z.string().describe('Folder or chat id from list_groups, or "total"'),
            usd: z.number().optional().describe('Dollars to add to today'),
            tokens: z.number().optional().describe('Tokens to add to today'),
          },
          (args) => ask(ctx, 'extend_budget', args),
        ),
        tool(
          'set_total_budget',
          'Set the daily budget of all chats together; null removes it.',
          { dailySpendUsd: z.number().nullable().optional(), dailyTokenBudget: z.number().nullable().optional() },
          (args) => ask(ctx, 'set_total_budget', args),
        ),
      ]),
];
