// Arguments of the cross-chat tools (read_messages, watch_chat), part of the protocol between runner and host:
// the runner offers them to the model with these schemas and the host checks every request against the same ones.
import { z } from 'zod';

/** The most messages one read_messages call returns, and its default. */
export const MAX_READ_MESSAGES = 500;
export const DEFAULT_READ_MESSAGES = 100;

const when = z
  .string()
  .min(1)
  .max(60)
  .describe(
    'A time in the user\'s timezone like "2026-11-30 09:00" (or ISO 8601 with an offset), "today" for local midnight, ' +
      'or a duration back from now like "24h" or "7d"',
  );

export const readMessagesShape = {
  chat: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('The chat id or folder (see list_groups / list_chats); default this chat. Other chats: main chat only'),
  since: when.optional().describe('Only messages at or after this time'),
  until: when.optional().describe('Only messages before this time'),
  last: z
    .number()
    .int()
    .min(1)
    .max(MAX_READ_MESSAGES)
    .optional()
    .describe(`At most this many of the newest matching messages (default ${DEFAULT_READ_MESSAGES})`),
  sender: z.string().min(1).max(100).optional().describe("Only messages whose sender's name or id contains this"),
  text: z.string().min(1).max(200).optional().describe('Only messages containing this text'),
};

export const watchChatShape = {
  chatId: z.string().min(1).max(200).describe('The chat id from list_chats, e.g. "wa:120363012345678901@g.us"'),
  folder: z
    .string()
    .optional()
    .describe('A new folder name for its media: letters, digits, "-" or "_" (default: made from the chat name)'),
  name: z.string().trim().min(1).max(100).optional().describe('Display name (defaults to the chat name)'),
};

export const readMessagesArgs = z.strictObject(readMessagesShape);
export const watchChatArgs = z.strictObject(watchChatShape);
