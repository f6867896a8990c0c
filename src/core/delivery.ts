import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { ChannelUnavailableError, ChatUnreachableError, type Channel } from '../channels/channel.js';
import { backoffDelay } from '../backoff.js';
import type { OutboxRow, Store } from '../store/store.js';

const MAX_ATTEMPTS = 10;

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
    void this.deliverAll().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private async deliverAll(): Promise<void> {
    const blockedChats = new Set<string>(); // keep a chat's order: after one failure, its later rows wait too
    let retryIn: number | undefined;
    for (const row of this.store.pendingOutbox()) {
      if (this.stopped) return;
      if (blockedChats.has(row.chatId)) continue;
      const channel = this.channels.find((c) => c.owns(row.chatId));
      if (!channel) {
        this.log.error({ chat: row.chatId, outbox: row.id }, 'no channel owns this chat; reply not delivered');
        this.store.markDeliveryFailed(row.id, 'no channel owns this chat', true);
        continue;
      }
      try {
        const platformId = await this.sendRow(channel, row);
        this.store.markSent(row.id, platformId);
        if (row.filePath) rmSync(row.filePath, { force: true });
      } catch (err) {
        if (err instanceof ChannelUnavailableError) {
          blockedChats.add(row.chatId);
          this.log.debug({ chat: row.chatId, outbox: row.id, reason: err.message }, 'channel offline; reply waits');
          continue;
        }
        if (err instanceof ChatUnreachableError) {
          this.store.markDeliveryFailed(row.id, err.message, true); // retrying cannot help
          if (row.filePath) rmSync(row.filePath, { force: true });
          this.log.error({ chat: row.chatId, outbox: row.id, err: err.message }, 'chat unreachable; reply dropped');
          this.onUnreachable(row.chatId, err.message);
          continue;
        }
        const final = row.attempts + 1 >= MAX_ATTEMPTS;
        const message = (err as Error).message ?? String(err);
        this.store.markDeliveryFailed(row.id, message, final);
        if (final && row.filePath) rmSync(row.filePath, { force: true });
        this.log[final ? 'error' : 'warn']({ chat: row.chatId, outbox: row.id, attempt: row.attempts + 1, err: message }, 'send failed');
        if (!final) {
          blockedChats.add(row.chatId);
          const delay = backoffDelay(row.attempts + 1, this.retry.baseMs, this.retry.maxMs);
          retryIn = Math.min(retryIn ?? delay, delay);
        }
      }
    }
    if (retryIn !== undefined && !this.stopped) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), retryIn);
    }
  }

  private sendRow(channel: Channel, row: OutboxRow): Promise<string> {
    // The key is unique even if a reset database reuses ids.
    const opts = { key: `outbox-${row.id}-${row.createdAt}`, ...(row.sender ? { sender: row.sender } : {}) };
    if (!row.filePath) return channel.send(row.chatId, row.text, opts);
    const fileName = row.fileName ?? 'file';
    if (channel.sendFile) return channel.sendFile(row.chatId, { path: row.filePath, fileName, caption: row.text || undefined }, opts);
    return channel.send(row.chatId, `📎 ${fileName} (this chat cannot receive files)${row.text ? `\n${row.text}` : ''}`, opts);
  }
}
