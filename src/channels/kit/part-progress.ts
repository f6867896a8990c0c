// A reply split into several platform messages remembers how far it got, per delivery key, so a retry after a
// failed part continues with the next part instead of posting the earlier ones again. An entry lives only while
// its reply is in flight: it goes when the last part is sent, or when delivery gives the reply up for good.
export class PartProgress {
  private readonly sentParts = new Map<string, number>();

  /** Send parts[done..] in order with `sendPart`; resolves to the last part's result. */
  async send<T>(key: string, count: number, sendPart: (index: number) => Promise<T>): Promise<T> {
    if (count === 0) throw new Error('nothing to send: the message is empty');
    let last: T | undefined;
    for (let i = this.sentParts.get(key) ?? 0; i < count; i++) {
      last = await sendPart(i);
      this.sentParts.set(key, i + 1);
    }
    this.sentParts.delete(key);
    return last as T;
  }

  /** Delivery gave the reply up: nothing of it will be sent again. */
  forget(key: string): void {
    this.sentParts.delete(key);
  }

  /** Replies in flight (for tests and leak checks). */
  get size(): number {
    return this.sentParts.size;
  }
}
