// One timer, armed for the earliest due task. When it fires, every due occurrence is claimed in one
// transaction (see TaskStore.claimDue) and the groups that got work are handed to the orchestrator.
import type { Logger } from 'pino';
import type { Task, TaskStore } from '../store/tasks.js';
import { nextOccurrence } from './schedule.js';

/** Wall-clock time and timers, injectable so tests can drive time by hand. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Node timers run on a monotonic clock that stands still while the machine sleeps, so a long wait is cut into
 * pieces of at most this length and re-checked against the wall clock (one indexed query each; not a poll
 * of the work: nothing is claimed or started by it).
 */
export const MAX_SLEEP_MS = 10 * 60_000;

const RETRY_MS = 1000;

export interface SchedulerOptions {
  tasks: TaskStore;
  timeZone: string;
  clock: Clock;
  log: Logger;
  /** Occurrences were claimed for these groups: run them. */
  onDue: (groupIds: number[]) => void;
}

export class Scheduler {
  private timer: unknown;
  private armedFor: number | undefined;
  private stopped = true;

  constructor(private readonly opts: SchedulerOptions) {}

  /** Claim whatever is due now (occurrences missed while the assistant was down run once) and arm the timer. */
  start(): void {
    this.stopped = false;
    this.fire();
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /** Tasks were added or changed: the earliest due time may have moved. */
  reschedule(): void {
    if (!this.stopped) this.arm();
  }

  /** When the timer will fire next (for tests and status). */
  get nextWake(): number | undefined {
    return this.armedFor;
  }

  private fire(): void {
    if (this.stopped) return;
    const { tasks, clock, log, timeZone } = this.opts;
    try {
      const { groups, broken } = tasks.claimDue(clock.now(), (task: Task, after: number) =>
        nextOccurrence({ type: task.scheduleType, value: task.scheduleValue, anchorAt: task.anchorAt }, after, timeZone),
      );
      for (const b of broken) log.error({ task: b.id, error: b.error }, 'task schedule cannot be evaluated; task paused');
      if (groups.length > 0) this.opts.onDue(groups);
    } catch (err) {
      log.error({ err }, 'claiming due tasks failed; trying again shortly');
      this.arm(RETRY_MS); // the due task is still due: without a pause this would spin
      return;
    }
    this.arm();
  }

  private arm(minDelay = 0): void {
    this.disarm();
    const due = this.opts.tasks.earliestDue();
    if (due === undefined) return;
    const now = this.opts.clock.now();
    const delay = Math.min(Math.max(minDelay, due - now), MAX_SLEEP_MS);
    this.armedFor = now + delay;
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = undefined;
      this.fire();
    }, delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.opts.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }
}
