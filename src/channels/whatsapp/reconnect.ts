import { backoffDelay } from '../../backoff.js';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** A connection that stayed open this long counts as healthy: the next failure starts the backoff over. */
  stableMs: number;
}

/**
 * Schedules reconnect attempts: at most one timer at a time, capped exponential backoff with jitter (each delay
 * lies in [d/2, d] for the nominal d, so delays never shrink while d grows), reset only after a stable connection
 * — a link that opens and drops at once keeps backing off instead of storming.
 */
export class Reconnector {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private openedAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  get attempts(): number {
    return this.failures;
  }

  /** Run `attempt` after the next backoff delay (or at once); a retry already pending wins. Returns the delay used. */
  schedule(attempt: () => void, opts: { immediate?: boolean } = {}): number | undefined {
    if (this.timer) return undefined;
    let delay = 0;
    if (!opts.immediate) {
      this.failures++;
      const nominal = backoffDelay(this.failures, this.policy.baseMs, this.policy.maxMs);
      delay = Math.round(nominal / 2 + (nominal / 2) * this.random());
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      attempt();
    }, delay);
    return delay;
  }

  opened(): void {
    this.openedAt = Date.now();
  }

  /** The connection closed; returns whether it had been stable (which starts the backoff over). */
  closed(): boolean {
    const stable = this.openedAt !== undefined && Date.now() - this.openedAt >= this.policy.stableMs;
    if (stable) this.failures = 0;
    this.openedAt = undefined;
    return stable;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
