// Long polling over getUpdates, with the failure handling grammY's bot.start() does not give us: its loop
// retries every 3 s for ever, unlogged, and throws on a 409 at start-up only. Here a webhook is deleted first,
// network and server errors back off exponentially with jitter to a cap, 429 waits what Telegram asks, and a
// 401 (token revoked) or 409 (another process polls this token) stops polling with one clear message.
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import type { ChannelHealth } from '../channel.js';
import { classify, retryAfter } from './api.js';
import { LinkState, type Link, type LinkStateOptions } from './link-state.js';

/** grammY types signals with its own AbortController shim; the platform's is the same thing at run time. */
export type Signal = Parameters<Api['getUpdates']>[1];

export const UPDATES = ['message', 'edited_message', 'channel_post', 'edited_channel_post', 'my_chat_member', 'callback_query'] as const;

export interface PollerOptions extends Omit<LinkStateOptions, 'mode'> {
  api: Api;
  handle(update: Update): Promise<void>;
  timeoutSeconds?: number;
}

/** Hand one update on; a failure is logged and the update skipped, so one bad update cannot stall the rest. */
export async function deliverUpdate(update: Update, handle: (u: Update) => Promise<void>, log: Logger): Promise<void> {
  try {
    await handle(update);
  } catch (err) {
    log.error({ err, update: update.update_id }, 'a Telegram update could not be handled; skipped');
  }
}

export class Poller implements Link {
  private readonly state: LinkState;
  private offset = 0;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private poll: AbortController | undefined;

  constructor(private readonly opts: PollerOptions) {
    this.state = new LinkState({ ...opts, mode: 'polling' });
  }

  get health(): ChannelHealth {
    return this.state.health;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.state.change('connecting', 'connecting to Telegram');
    this.loop = this.run().finally(() => (this.loop = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poll?.abort();
    this.state.interrupt();
    await this.loop;
    if (this.health.state !== 'failed') this.state.change('stopped', 'stopped');
  }

  lostNetwork(reason: string): void {
    if (this.health.state === 'connected') this.state.offline(reason);
    this.poll?.abort();
    this.state.interrupt();
  }

  private async run(): Promise<void> {
    let webhookDeleted = false;
    while (!this.stopped) {
      const poll = (this.poll = new AbortController());
      try {
        if (!webhookDeleted) webhookDeleted = await this.opts.api.deleteWebhook({}, poll.signal as Signal);
        // Until a poll has come back, ask with no wait: it proves the connection at once.
        const timeout = this.health.state === 'connected' ? (this.opts.timeoutSeconds ?? 30) : 0;
        const updates = await this.opts.api.getUpdates({ offset: this.offset, timeout, allowed_updates: [...UPDATES] }, poll.signal as Signal);
        this.state.connected(`long polling as ${this.opts.account}`);
        for (const update of updates) {
          await deliverUpdate(update, this.opts.handle, this.opts.log);
          this.offset = update.update_id + 1; // confirmed to Telegram by the next getUpdates
        }
      } catch (err) {
        if (this.stopped) break;
        if (poll.signal.aborted) continue; // lostNetwork() asked for a fresh attempt
        if (await this.failed(err)) break;
      }
    }
  }

  /** Returns true when polling must stop for good. */
  private async failed(err: unknown): Promise<boolean> {
    const kind = classify(err);
    if (kind === 'unauthorized') {
      this.state.change('failed', 'Telegram refused the bot token (401 Unauthorized): set it up again with `carapace channel add telegram`');
      return true;
    }
    if (kind === 'conflict') {
      this.state.change('failed', 'another process is polling this bot (409 Conflict); stopped here so the two do not fight: stop the other one, then restart Carapace');
      return true;
    }
    const asked = retryAfter(err);
    if (asked !== undefined) await this.state.sleep(asked * 1000);
    else await this.state.backOff((err as Error).message);
    return false;
  }
}
