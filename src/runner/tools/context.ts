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
