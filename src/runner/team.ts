import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

/** The tool the lead agent delegates with (named Task in older Claude Code versions). */
const DELEGATION_TOOLS = new Set(['Agent', 'Task']);

/**
 * Follows delegations to the group's own roles (agents defined in .claude/agents/<role>.md of its folder) and
 * reports each role's finished result, so it can reach the chat under the role's name. Work the lead hands
 * to generic helpers stays internal. A role runs either in the foreground (its result is the delegation's tool
 * result) or in the background, as agent teams do (its result arrives later as a task notification).
 */
export class TeamWatcher {
  private readonly roleOf = new Map<string, string>(); // delegation tool_use id → role
  private readonly background = new Set<string>();

  constructor(private readonly groupDir: string) {}

  /** Returns the results of roles that finished with this message. */
  observe(message: SDKMessage): { role: string; text: string }[] {
    if (message.type === 'assistant' && message.parent_tool_use_id === null) {
      for (const block of message.message.content) {
        if (block.type !== 'tool_use' || !DELEGATION_TOOLS.has(block.name)) continue;
        const role = (block.input as { subagent_type?: unknown }).subagent_type;
        if (typeof role === 'string' && this.isGroupRole(role)) this.roleOf.set(block.id, role);
      }
    } else if (message.type === 'system' && message.subtype === 'task_started') {
      if (message.tool_use_id && message.is_backgrounded) this.background.add(message.tool_use_id);
    } else if (message.type === 'system' && message.subtype === 'task_notification') {
      const role = message.tool_use_id && this.roleOf.get(message.tool_use_id);
      if (role && message.status === 'completed') return this.finish(message.tool_use_id!, role, message.summary);
    } else if (message.type === 'user' && message.parent_tool_use_id === null && typeof message.message.content !== 'string') {
      return message.message.content.flatMap((block) => {
        if (block.type !== 'tool_result' || this.background.has(block.tool_use_id)) return [];
        const role = this.roleOf.get(block.tool_use_id);
        return role && !block.is_error ? this.finish(block.tool_use_id, role, toText(block.content)) : [];
      });
    }
    return [];
  }

  private finish(toolUseId: string, role: string, text: string): { role: string; text: string }[] {
    this.roleOf.delete(toolUseId);
    this.background.delete(toolUseId);
    const clean = stripTrailer(text);
    return clean ? [{ role, text: clean }] : [];
  }

  private isGroupRole(role: string): boolean {
    return /^[\w-]{1,64}$/.test(role) && existsSync(join(this.groupDir, '.claude', 'agents', `${role}.md`));
  }
}

function toText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is { type: 'text'; text: string } => b?.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text)
    .join('\n');
}

/** The CLI appends bookkeeping (agent ids, usage) to delegation results; the chat wants the role's words only. */
const stripTrailer = (text: string) =>
  text
    .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '')
    .replace(/\n*agentId: [\s\S]*$/, '')
    .trim();
