import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { ChannelUnavailableError, ChatUnreachableError, type Channel } from '../channels/channel.js';
import { backoffDelay } from '../backoff.js';
import type { OutboxRow, Store } from '../store/store.js';

const MAX_ATTEMPTS = 10;

/** The key a row is sent with, the same on every attempt and after a restart; unique even if a reset store reuses ids. */
export const deliveryKey = (row: OutboxRow) => `outbox-${row.id}-${row.createdAt}`;

/**
 * Sends queued outbox rows through their channel, in order per chat. A failed send stays pending and is retried
 * with backoff; rows survive restarts because they live in the store. A channel that is offline costs no attempt:
 * its rows wait until it reports `ready` and kicks delivery again.
 */
export class Delivery {
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The pass in progress, which shutdown waits for. */
  private pass: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly channels: Channel[],
    private readonly log: Logger,
    private readonly retry: { baseMs: number; maxMs: number },
    /** The platform refused a chat for good (the bot was removed or blocked there): tell someone who can act. */
    private readonly onUnreachable: (chatId: string, reason: string) => void = () => undefined,
  ) {}

  /** Something was queued (or a channel came back): deliver now. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.pass = this.deliverAll()
      .catch((err) => this.log.error({ err }, 'delivery pass failed'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Take no more work, and let a send already on the wire finish and be recorded (bounded: a platform that hangs
   * does not hold up shutdown; its row stays pending and is sent again at the next start).
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pass, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  private async deliverAll(): Promise<void> {
    const blockedChats = new Set<string>(); // keep a chat's order: after one failure, its later rows wait too
    let retryIn: number | undefined;
    for (const row of this.store.pendingOutbox()) {
      if (this.stopped) return;
      if (blockedChats.has(row.chatId)) continue;
      const outcome = await this.deliverRow(row);
      if (outcome === 'done') continue;
      blockedChats.add(row.chatId);
      if (outcome !== 'offline') retryIn = Math.min(retryIn ?? outcome.retryIn, outcome.retryIn);
    }
    if (retryIn !== undefined && !this.stopped) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), retryIn);
    }
  }

  /** Send one row: done (sent, or failed for good), its channel is offline, or it is retried later. */
  private async deliverRow(row: OutboxRow): Promise<'done' | 'offline' | { retryIn: number }> {
    // The last line of the rule that a watched source is never written to, whatever queued the row.
    if (this.store.groupByChat(row.chatId)?.mode === 'source') return this.dropRow(row, 'the chat is a watched source: nothing is ever sent there');
    const channel = this.channels.find((c) => c.owns(row.chatId));
    if (!channel) return this.dropRow(row, 'no channel owns this chat');
    try {
      const platformId = await this.sendRow(channel, row);
      this.store.markSent(row.id, platformId);
      if (row.filePath) rmSync(row.filePath, { force: true });
      return 'done';
    } catch (err) {
      if (this.stopped) return 'offline'; // cut short by shutdown: the row stays pending for the next start, no attempt spent
      if (err instanceof ChannelUnavailableError) {
        this.log.debug({ chat: row.chatId, outbox: row.id, reason: err.message }, 'channel offline; reply waits');
        return 'offline';
      }
      if (err instanceof ChatUnreachableError) {
        this.dropRow(row, err.message); // retrying cannot help
        this.onUnreachable(row.chatId, err.message);
        return 'done';
      }
      const final = row.attempts + 1 >= MAX_ATTEMPTS;
      const message = (err as Error).message ?? String(err);
      if (final) return this.dropRow(row, message);
      this.store.markDeliveryFailed(row.id, message, false);
      this.log.warn({ chat: row.chatId, outbox: row.id, attempt: row.attempts + 1, err: message }, 'send failed');
      return { retryIn: backoffDelay(row.attempts + 1, this.retry.baseMs, this.retry.maxMs) };
    }
  }

  /** A row that will never be sent: marked failed with the reason, its file copy removed, its channel told, logged. */
  private dropRow(row: OutboxRow, reason: string): 'done' {
    this.store.markDeliveryFailed(row.id, reason, true);
    this.channels.find((c) => c.owns(row.chatId))?.forget?.(deliveryKey(row));
    if (row.filePath) rmSync(row.filePath, { force: true });
    this.log.error({ chat: row.chatId, outbox: row.id, attempt: row.attempts + 1, err: reason }, 'reply not delivered');
    return 'done';
  }

  private sendRow(channel: Channel, row: OutboxRow): Promise<string> {
    const opts = { key: deliveryKey(row), ...(row.sender ? { sender: row.sender } : {}) };
    if (!row.filePath) return channel.send(row.chatId, row.text, opts);
    const fileName = row.fileName ?? 'file';
    if (channel.sendFile) return channel.sendFile(row.chatId, { path: row.filePath, fileName, caption: row.text || undefined }, opts);
    return channel.send(row.chatId, `📎 ${fileName} (this chat cannot receive files)${row.text ? `\n${row.text}` : ''}`, opts);
  }
}
