// One run per group at a time, at most `maxConcurrent` runs overall, first-come first-served among waiting
// groups, and failed runs retried with capped exponential backoff. Purely event-driven: nothing polls.
import { backoffDelay } from '../backoff.js';

export type RunOutcome = 'done' | 'retry';

export interface GroupQueueOptions {
  maxConcurrent: number;
  /** Run the group's agent until its sandbox exits. 'retry' means its work is still unanswered. */
  run: (groupId: number, attempt: number) => Promise<RunOutcome>;
  retry: { baseMs: number; maxMs: number; maxAttempts: number };
  /** All attempts failed; the caller tells the chat. */
  onGiveUp: (groupId: number, attempts: number) => void;
  /** Someone is waiting for a slot: a chance to close an idle run. */
  onSaturated?: () => void;
  onError?: (groupId: number, err: unknown) => void;
  /** Injectable for tests. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class GroupQueue {
  private readonly active = new Set<number>();
  private readonly waiting: number[] = [];
  /** Groups that got new work while their run was live: they run again afterwards. */
  private readonly again = new Set<number>();
  private readonly attempts = new Map<number, number>();
  private readonly retryTimers = new Map<number, unknown>();
  private stopped = false;

  constructor(private readonly opts: GroupQueueOptions) {}

  get activeCount(): number {
    return this.active.size;
  }
  get waitingGroups(): readonly number[] {
    return this.waiting;
  }
  isActive(groupId: number): boolean {
    return this.active.has(groupId);
  }

  /** Group `groupId` has work. Starts it now if a slot is free, else queues it (once). */
  enqueue(groupId: number): void {
    if (this.stopped) return;
    if (this.active.has(groupId)) {
      this.again.add(groupId);
      return;
    }
    if (this.retryTimers.has(groupId) || this.waiting.includes(groupId)) return; // already coming
    if (this.active.size < this.opts.maxConcurrent) this.launch(groupId);
    else {
      this.waiting.push(groupId);
      this.opts.onSaturated?.();
    }
  }

  /** Stop starting runs and cancel pending retries; live runs are the caller's to stop. */
  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) (this.opts.clearTimer ?? clearTimeout)(t as NodeJS.Timeout);
    this.retryTimers.clear();
    this.waiting.length = 0;
  }

  private launch(groupId: number): void {
    this.active.add(groupId);
    const attempt = (this.attempts.get(groupId) ?? 0) + 1;
    this.opts
      .run(groupId, attempt)
      .catch((err): RunOutcome => {
        this.opts.onError?.(groupId, err);
        return 'retry';
      })
      .then((outcome) => this.finished(groupId, outcome));
  }

  /** The group's agent answered something: later failures count from a fresh attempt. */
  noteProgress(groupId: number): void {
    this.attempts.delete(groupId);
  }

  private finished(groupId: number, outcome: RunOutcome): void {
    this.active.delete(groupId);
    const more = this.again.delete(groupId);
    if (outcome === 'retry' && !this.stopped) {
      const attempt = (this.attempts.get(groupId) ?? 0) + 1;
      if (attempt >= this.opts.retry.maxAttempts) {
        this.attempts.delete(groupId);
        this.opts.onGiveUp(groupId, attempt);
      } else {
        this.attempts.set(groupId, attempt);
        const delay = backoffDelay(attempt, this.opts.retry.baseMs, this.opts.retry.maxMs);
        const timer = (this.opts.setTimer ?? setTimeout)(() => {
          this.retryTimers.delete(groupId);
          this.enqueue(groupId);
        }, delay);
        this.retryTimers.set(groupId, timer);
      }
    } else {
      this.attempts.delete(groupId);
      if (more) this.waiting.push(groupId); // behind everyone already waiting: fair to other groups
    }
    this.drain();
  }

  private drain(): void {
    while (!this.stopped && this.active.size < this.opts.maxConcurrent && this.waiting.length > 0) {
      this.launch(this.waiting.shift()!);
    }
  }
}
