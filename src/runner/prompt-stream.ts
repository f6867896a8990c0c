import type { SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';

/** The SDK's streaming prompt: an async iterable that stays open between turns until `end()`. */
export class PromptStream implements AsyncIterable<SDKUserMessage> {
  private queue: string[] = [];
  private last: string | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  push(text: string): void {
    this.queue.push(text);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Offer the last consumed turn again (to a fresh query after a failed resume). */
  replay(): void {
    if (this.last !== undefined) this.queue.unshift(this.last);
    this.ended = false;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SDKUserMessage> {
    for (;;) {
      const text = this.queue.shift();
      if (text !== undefined) {
        this.last = text;
        yield { type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: '' };
      } else if (this.ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    }
  }
}
