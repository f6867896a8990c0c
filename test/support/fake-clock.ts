import type { Clock } from '../../src/tasks/scheduler.js';

/** A clock whose time moves only when told; timers fire in order as it passes them. */
export class FakeClock implements Clock {
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private lastId = 0;

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.lastId;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** When the pending timers are due, earliest first. */
  get pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }

  /** Move time to `target`, firing every timer due on the way at its own time. */
  advanceTo(target: number): void {
    for (;;) {
      const [id, next] = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || next!.at > target) break;
      this.timers.delete(id);
      this.t = Math.max(this.t, next!.at);
      next!.fn();
    }
    this.t = Math.max(this.t, target);
  }

  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }
}
