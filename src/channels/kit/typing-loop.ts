// "Typing…" on bot platforms lasts a few seconds per request (Telegram 5 s, Discord 10 s, Slack's status until
// cleared), so a run that thinks for minutes repeats it until the run ends. One timer per chat; a failed refresh
// is dropped (a missing indicator is not worth an error).

export class TypingLoop {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly show: (chatId: string) => Promise<unknown>,
    private readonly refreshMs: number,
    /** Clears the indicator where the platform needs it cleared (Slack); others let it lapse. */
    private readonly hide?: (chatId: string) => Promise<unknown>,
  ) {}

  async set(chatId: string, typing: boolean): Promise<void> {
    if (typing) return this.start(chatId);
    const timer = this.timers.get(chatId);
    if (!timer) return;
    clearInterval(timer);
    this.timers.delete(chatId);
    await this.hide?.(chatId).catch(() => undefined);
  }

  /** Forget every indicator (the connection is going). */
  clear(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  private async start(chatId: string): Promise<void> {
    if (this.timers.has(chatId)) return;
    const timer = setInterval(() => void this.show(chatId).catch(() => undefined), this.refreshMs);
    timer.unref();
    this.timers.set(chatId, timer);
    await this.show(chatId).catch(() => undefined);
  }
}
