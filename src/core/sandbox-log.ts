// A sandbox's own output (the runner's and Claude Code's stderr) as lines for the run's log, and the tool calls
// among them. The sandbox writes it, so it is bounded here: a line without an end cannot grow the host's memory.
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import type { ToolCall } from './run-board.js';

/** Longest line kept whole; the rest of a longer one, up to its newline, is dropped. */
export const MAX_SANDBOX_LINE = 16 * 1024;

/** A chunk handler that calls `onLine` with each complete line, cut at `max` characters. */
export function lineSplitter(onLine: (line: string) => void, max = MAX_SANDBOX_LINE): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  let line = '';
  let dropping = false; // in the rest of a line that was already cut
  return (chunk) => {
    const parts = decoder.write(chunk).split('\n');
    parts.forEach((part, i) => {
      if (!dropping) line += part;
      if (line.length > max) {
        onLine(`${line.slice(0, max)}… (cut: longer than ${max} characters)`);
        line = '';
        dropping = true;
      }
      if (i === parts.length - 1) return; // no newline after this part yet
      if (!dropping) onLine(line);
      line = '';
      dropping = false;
    });
  };
}

/**
 * The runner prints one `AUDIT {json}` line per tool call; those are the agent's actions and are logged as such.
 * Returns the call for the console (the sandbox wrote it: only well-typed fields are kept).
 */
export function logSandboxLine(log: Logger, line: string): Omit<ToolCall, 'at'> | undefined {
  if (line.startsWith('AUDIT ')) {
    try {
      const tool = JSON.parse(line.slice(6));
      log.info({ stream: 'audit', tool }, 'agent tool call');
      const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1000) : '');
      return { name: str(tool?.name) || '?', input: str(tool?.input), ok: tool?.ok === true, result: str(tool?.result) };
    } catch {
      // not a well-formed audit line: log it as plain output
    }
  }
  log.debug(line);
  return undefined;
}
