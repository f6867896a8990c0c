// How a Telegram connection (long polling or a webhook) reports itself: its health, one log line per change of
// state (never one per retry), and the capped exponential backoff with jitter between failed attempts.
import type { Logger } from 'pino';
import { backoffDelay } from '../../backoff.js';
import type { ChannelHealth } from '../channel.js';

export interface LinkStateOptions {
  account: string;
  mode: 'polling' | 'webhook';
  log: Logger;
  /** Called on every change of state (not on every retry). */
  onChange(health: ChannelHealth): void;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
}

/** What the channel needs of either way of receiving updates. */
export interface Link {
  readonly health: ChannelHealth;
  start(): void;
  stop(): Promise<void>;
  /** A send found no network: show it, and check the connection again at once. */
  lostNetwork(reason: string): void;
}

export class LinkState {
  health: ChannelHealth;
  private failures = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LinkStateOptions) {
    this.health = { state: 'stopped', detail: 'not started', account: opts.account, mode: opts.mode, since: Date.now() };
  }

  change(state: ChannelHealth['state'], detail: string): void {
    this.health = { ...this.health, state, detail, since: Date.now() };
    const level = state === 'failed' ? 'error' : state === 'offline' ? 'warn' : 'info';
    this.opts.log[level]({ state }, `telegram: ${detail}`);
    this.opts.onChange(this.health);
  }

  connected(detail: string): void {
    this.failures = 0;
    if (this.health.state !== 'connected') this.change('connected', detail);
  }

  offline(reason: string): void {
    if (this.health.state !== 'offline') this.change('offline', `no connection to Telegram since ${clock()} (${redact(reason)}); retrying`);
  }

  /** After a failed attempt: show the loss (once) and wait the next backoff delay. */
  async backOff(reason: string): Promise<void> {
    this.offline(reason);
    this.failures++;
    const nominal = backoffDelay(this.failures, this.opts.backoff?.baseMs ?? 1000, this.opts.backoff?.maxMs ?? 60_000);
    await this.sleep(Math.round(nominal / 2 + (nominal / 2) * (this.opts.random ?? Math.random)()));
  }

  /** A wait that `interrupt()` cuts short. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  interrupt(): void {
    this.wake?.();
  }
}

const clock = () => new Date().toISOString().slice(11, 16);
/** Error messages can carry request URLs, and those the token. */
const redact = (text: string) => text.replace(/bot\d+:[\w-]+/g, 'bot<token>');
