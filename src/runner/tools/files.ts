import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { tool } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { isBelow } from '../../fs/contain.js';
import { GROUP_MOUNT, MAX_SEND_FILE_BYTES } from '../../ipc/protocol.js';
import { failure, reply, type ToolContext } from './context.js';

export const fileTools = (ctx: ToolContext) => [
  tool(
    'send_file',
    `Send a file from your folder (${GROUP_MOUNT}) to this chat, e.g. a chart or document you made.`,
    {
      path: z.string().min(1).describe(`Path of the file, absolute under ${GROUP_MOUNT} or relative to it`),
      caption: z.string().max(4000).optional().describe('Text shown with the file'),
    },
    async ({ path, caption }) => {
      // The host checks again (and copies the file before sending); this just catches mistakes early.
      const full = resolve(GROUP_MOUNT, path);
      if (!isBelow(full, GROUP_MOUNT)) return failure(`Only files inside ${GROUP_MOUNT} can be sent.`);
      let size: number;
      try {
        const st = statSync(full);
        if (!st.isFile()) return failure(`${path} is not a file.`);
        size = st.size;
      } catch {
        return failure(`${path} does not exist.`);
      }
      if (size > MAX_SEND_FILE_BYTES) return failure(`${path} is larger than ${MAX_SEND_FILE_BYTES / 1024 / 1024} MB.`);
      ctx.emit({ type: 'file', path: full, caption });
      return reply(`Sending ${path} to ${ctx.start.chatId}.`);
    },
  ),
];
