/**
 * A token bucket for outgoing messages: `burst` may go at once, then one per `60 000 / perMinute` ms. Callers
 * wait their turn in order. Bursty or bot-like sending is how WhatsApp accounts get banned.
 */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): Promise<void> {
    const turn = this.queue.then(() => this.wait());
    this.queue = turn;
    return turn;
  }

  private async wait(): Promise<void> {
    this.refill();
    if (this.tokens < 1) {
      const ms = Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
      await new Promise((resolve) => setTimeout(resolve, ms));
      this.refill();
    }
    this.tokens = Math.max(0, this.tokens - 1);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }
}
