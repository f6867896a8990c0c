import { createSdkMcpServer } from '@anthropic-ai/claude-agent-sdk';
import type { ToolContext } from './context.js';
import { egressTools } from './egress.js';
import { fileTools } from './files.js';
import { groupTools } from './groups.js';
import { messageTools } from './messages.js';
import { sourceTools } from './sources.js';
import { settingsTools } from './settings.js';
import { taskTools } from './tasks.js';
import { secretTools } from './secrets.js';

/** The product's tools, served in-process to the SDK as the "carapace" MCP server (mcp__carapace__*). */
export function createCarapaceTools(ctx: ToolContext) {
  return createSdkMcpServer({
    name: 'carapace',
    version: '1.0.0',
    tools: [...messageTools(ctx), ...fileTools(ctx), ...taskTools(ctx), ...groupTools(ctx), ...egressTools(ctx), ...sourceTools(ctx), ...settingsTools(ctx), ...secretTools(ctx)],
  });
}
