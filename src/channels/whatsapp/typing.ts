// WhatsApp shows "typing…" for a few seconds per presence update, so a run that thinks for minutes needs the
// update repeated until it ends. We only appear online while typing: an always-online linked device would keep
// the owner's phone from ringing.

export type Presence = 'available' | 'composing' | 'paused' | 'unavailable';

export class TypingKeeper {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly update: (presence: Presence, jid?: string) => Promise<void>,
    private readonly refreshMs = 10_000,
  ) {}

  get active(): string[] {
    return [...this.timers.keys()];
  }

  async start(jid: string): Promise<void> {
    if (this.timers.has(jid)) return;
    const first = this.timers.size === 0;
    this.timers.set(
      jid,
      setInterval(() => void this.update('composing', jid).catch(() => undefined), this.refreshMs),
    );
    if (first) await this.update('available');
    await this.update('composing', jid);
  }

  async stop(jid: string): Promise<void> {
    const timer = this.timers.get(jid);
    if (!timer) return;
    clearInterval(timer);
    this.timers.delete(jid);
    await this.update('paused', jid);
    if (this.timers.size === 0) await this.update('unavailable');
  }

  /** Forget every indicator without telling WhatsApp (the connection is gone or going). */
  clear(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }
}
