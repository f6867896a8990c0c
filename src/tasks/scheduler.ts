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

/**
 * How long before a task is due its group's sandbox is started: a cold start takes ~0.5 s on bwrap and ~0.8 s on
 * docker here, so this leaves room for a loaded machine without holding a slot for long.
 */
export const PREWARM_LEAD_MS = 2000;

/**
 * Occurrences are claimed this long before they are due, so the agent's own first-turn work (the CLI builds its
 * system prompt, tools and transcript: 100–250 ms here) is done by the due time; the run's model proxy holds
 * its model calls until then (see AgentRun.modelCallsNotBefore), so the request still leaves on the dot.
 */
export const CLAIM_AHEAD_MS = 1000;

/** A group with a task coming due within the lead time. */
export interface SoonDue {
  groupId: number;
  /** The task runs in a fresh session of its own. */
  isolated: boolean;
}

export interface SchedulerOptions {
  tasks: TaskStore;
  timeZone: string;
  clock: Clock;
  log: Logger;
  /** Occurrences were claimed for these groups: run them. */
  onDue: (groupIds: number[]) => void;
  /** These groups have a task due within `prewarmLeadMs`: their sandboxes may start now. */
  onSoon?: (soon: SoonDue[]) => void;
  prewarmLeadMs?: number;
  claimAheadMs?: number;
}

export class Scheduler {
  private timer: unknown;
  private armedFor: number | undefined;
  private stopped = true;
  private soonTimer: unknown;
  /** Tasks due up to here were already announced to `onSoon`. */
  private announcedThrough = -Infinity;

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
      const { groups, broken } = tasks.claimDue(
        clock.now(),
        (task: Task, after: number) => nextOccurrence({ type: task.scheduleType, value: task.scheduleValue, anchorAt: task.anchorAt }, after, timeZone),
        this.ahead,
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
    this.armSoon();
    const due = this.opts.tasks.earliestDue();
    if (due === undefined) return;
    const now = this.opts.clock.now();
    const delay = Math.min(Math.max(minDelay, due - this.ahead - now), MAX_SLEEP_MS);
    this.armedFor = now + delay;
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = undefined;
      this.fire();
    }, delay);
  }

  private disarm(): void {
    const { clock } = this.opts;
    if (this.timer !== undefined) clock.clearTimer(this.timer);
    if (this.soonTimer !== undefined) clock.clearTimer(this.soonTimer);
    this.timer = this.soonTimer = undefined;
    this.armedFor = undefined;
  }

  private get ahead(): number {
    return this.opts.claimAheadMs ?? CLAIM_AHEAD_MS;
  }

  private get lead(): number {
    return this.opts.prewarmLeadMs ?? PREWARM_LEAD_MS;
  }

  /** A second timer, `lead` ms before the next task not yet announced. */
  private armSoon(): void {
    const { clock, tasks, onSoon } = this.opts;
    if (!onSoon) return;
    const next = tasks.earliestDueAfter(Math.max(this.announcedThrough, clock.now()));
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.lead - clock.now()), MAX_SLEEP_MS);
    this.soonTimer = clock.setTimer(() => {
      this.soonTimer = undefined;
      this.announceSoon();
    }, delay);
  }

  private announceSoon(): void {
    if (this.stopped) return;
    const { clock, tasks, log } = this.opts;
    const now = clock.now();
    try {
      const soon = tasks.dueSoon(Math.max(this.announcedThrough, now), now + this.lead);
      this.announcedThrough = now + this.lead;
      if (soon.length > 0) this.opts.onSoon!(soon);
    } catch (err) {
      log.warn({ err }, 'looking ahead for due tasks failed'); // only a head start is lost
    }
    this.armSoon();
  }
}
