// Long polling over getUpdates, with the failure handling grammY's bot.start() does not give us: its loop
// retries every 3 s for ever, unlogged, and throws on a 409 at start-up only. Here a webhook is deleted first,
// network and server errors back off exponentially with jitter to a cap, 429 waits what Telegram asks, and a
// 401 (token revoked) or 409 (another process polls this token) stops polling with one clear message.
// Each state change is reported once (health and one log line), never on every retry.
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import { backoffDelay } from '../../backoff.js';
import type { ChannelHealth } from '../channel.js';
import { classify, retryAfter } from './api.js';

/** grammY types signals with its own AbortController shim; the platform's is the same thing at run time. */
type Signal = Parameters<Api['getUpdates']>[1];

const UPDATES = ['message', 'edited_message', 'channel_post', 'edited_channel_post', 'my_chat_member'] as const;

export interface PollerOptions {
  api: Api;
  account: string;
  log: Logger;
  handle(update: Update): Promise<void>;
  /** Called on every change of state (not on every retry). */
  onChange(health: ChannelHealth): void;
  timeoutSeconds?: number;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
}

export class Poller {
  private offset = 0;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private poll: AbortController | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  health: ChannelHealth;

  constructor(private readonly opts: PollerOptions) {
    this.health = { state: 'stopped', detail: 'not started', account: opts.account, mode: 'polling', since: Date.now() };
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.change('connecting', 'connecting to Telegram');
    this.loop = this.run().finally(() => (this.loop = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poll?.abort();
    this.wake?.();
    await this.loop;
    if (this.health.state !== 'failed') this.change('stopped', 'stopped');
  }

  /** A send found no network: show it, and check again at once instead of waiting for the long poll to end. */
  lostNetwork(reason: string): void {
    if (this.health.state === 'connected') this.change('offline', `no connection to Telegram since ${clock()} (${reason}); retrying`);
    this.poll?.abort();
    this.wake?.();
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
        this.succeeded();
        for (const update of updates) await this.deliver(update);
      } catch (err) {
        if (this.stopped) break;
        if (poll.signal.aborted) continue; // lostNetwork() asked for a fresh attempt
        if (await this.failed(err)) break;
      }
    }
  }

  private async deliver(update: Update): Promise<void> {
    try {
      await this.opts.handle(update);
    } catch (err) {
      this.opts.log.error({ err, update: update.update_id }, 'a Telegram update could not be handled; skipped');
    }
    this.offset = update.update_id + 1; // confirmed to Telegram by the next getUpdates
  }

  private succeeded(): void {
    this.failures = 0;
    if (this.health.state !== 'connected') this.change('connected', `long polling as ${this.opts.account}`);
  }

  /** Returns true when polling must stop for good. */
  private async failed(err: unknown): Promise<boolean> {
    const kind = classify(err);
    if (kind === 'unauthorized') {
      this.change('failed', 'Telegram refused the bot token (401 Unauthorized): set it up again with `carapace channel add telegram`');
      return true;
    }
    if (kind === 'conflict') {
      this.change('failed', 'another process is polling this bot (409 Conflict); stopped here so the two do not fight: stop the other one, then restart Carapace');
      return true;
    }
    const asked = retryAfter(err);
    if (asked !== undefined) return this.sleep(asked * 1000).then(() => false);
    this.failures++;
    const nominal = backoffDelay(this.failures, this.opts.backoff?.baseMs ?? 1000, this.opts.backoff?.maxMs ?? 5 * 60_000);
    const delay = Math.round(nominal / 2 + (nominal / 2) * (this.opts.random ?? Math.random)());
    const reason = (err as Error).message.replace(/bot\d+:[\w-]+/g, 'bot<token>');
    if (this.health.state !== 'offline') this.change('offline', `no connection to Telegram since ${clock()} (${reason}); retrying`);
    await this.sleep(delay);
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private change(state: ChannelHealth['state'], detail: string): void {
    this.health = { ...this.health, state, detail, since: Date.now() };
    const level = state === 'failed' ? 'error' : state === 'offline' ? 'warn' : 'info';
    this.opts.log[level]({ state }, `telegram: ${detail}`);
    this.opts.onChange(this.health);
  }
}

const clock = () => new Date().toISOString().slice(11, 16);
