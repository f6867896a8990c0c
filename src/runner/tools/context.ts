import { tool } from '@anthropic-ai/claude-agent-sdk';
import type { OutputBody, StartRequest } from '../../ipc/protocol.js';

export interface ToolContext {
  start: StartRequest;
  /** Fire-and-forget output to the host. */
  emit: (o: OutputBody) => void;
  /** Ask the host and wait for its answer; rejects with the host's error message. */
  request: (op: string, args: unknown) => Promise<unknown>;
}

/** A tool's text answer. */
export const reply = (text: string) => ({ content: [{ type: 'text' as const, text }] });
/** A tool's error answer: the model sees it and can explain it to the user. */
export const failure = (text: string) => ({ content: [{ type: 'text' as const, text }], isError: true });

/** A tool that forwards its arguments to the host operation of the same name and shows the answer as JSON. */
export function hostTool<Shape extends Record<string, any>>(ctx: ToolContext, name: string, description: string, shape: Shape) {
  return tool(name, description, shape, async (args) => {
    try {
      return reply(JSON.stringify(await ctx.request(name, args), null, 2));
    } catch (err) {
      return failure((err as Error).message);
    }
  });
}
