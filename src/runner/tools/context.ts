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

/** Ask the host and turn its answer (JSON) or refusal into the tool's result. */
export async function ask(ctx: ToolContext, op: string, args: unknown) {
  try {
    const result = await ctx.request(op, args);
    return reply(typeof result === 'string' ? result : JSON.stringify(result, null, 2));
  } catch (err) {
    return failure((err as Error).message);
  }
}
