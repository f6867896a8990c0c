// The delivery window (issue 17 item 2): between a platform accepting a send and the outbox marking its row sent,
// a crash makes Carapace send the reply again. On Telegram and Slack, which keep no id we could reuse, that is the
// at-least-once window; this records, in the bench's own process, when each row is marked sent.
import type { Store } from '../src/store/store.js';

/** performance.now() of every markSent, in order. */
export function recordMarkSent(store: Store): number[] {
  const marks: number[] = [];
  const markSent = store.markSent;
  store.markSent = (outboxId, platformMessageId) => {
    markSent(outboxId, platformMessageId);
    marks.push(performance.now());
  };
  return marks;
}
