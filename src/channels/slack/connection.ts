// The Socket Mode connection: Bolt's App on a SocketModeReceiver, pointed at `apiUrl`. Bolt reconnects by itself
// (a `disconnect` envelope, a dropped socket, missing pings). What it does not do, this does: a start that fails
// (network down, a token Slack refuses — also when Bolt's own reconnect hits it) is retried with jittered backoff:
// forever while the network is away, a bounded number of times while Slack refuses a token. The state is kept
// for health() and logged once per change.
import { App, SocketModeReceiver } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { backoffDelay } from '../../backoff.js';
import type { ChannelHealth } from '../channel.js';
import type { SlackCredentials } from './credentials.js';
import { AUTH_ERRORS, isNetworkError, libraryLogger, platformError, webClient } from './web.js';

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Starts in a row that Slack may refuse a token before the channel gives up ("failed"). */
  authAttempts: number;
}

export interface ConnectionOptions {
  credentials: SlackCredentials;
  apiUrl: string;
  log: Logger;
  retry?: RetryPolicy;
  /** Socket Mode's ping interval; Bolt waits this long (times the failures in a row) before reconnecting. */
  clientPingTimeoutMs?: number;
  random?: () => number;
  /** Connected (again): what waited for the connection can go now. */
  onConnected(): void;
}

const DEFAULT_RETRY: RetryPolicy = { baseMs: 2_000, maxMs: 5 * 60_000, authAttempts: 5 };

export class SlackConnection {
  readonly app: App;
  /** The bot token's client: replies, files, names. Network errors are retried a little; 429s wait Retry-After. */
  readonly client: WebClient;
  private readonly receiver: SocketModeReceiver;
  private readonly retry: RetryPolicy;
  private state: ChannelHealth;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private authFailures = 0;
  private stopped = true;

  constructor(private readonly opts: ConnectionOptions) {
    const { credentials, apiUrl } = opts;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    const logger = libraryLogger(opts.log);
    this.client = webClient(apiUrl, credentials.botToken, { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000, randomize: true }, logger);
    this.receiver = new SocketModeReceiver({
      appToken: credentials.appToken,
      logger,
      clientPingTimeout: opts.clientPingTimeoutMs ?? 5_000,
      // apps.connections.open: a short try here, the long wait is ours (below), where it shows in health().
      installerOptions: { clientOptions: { slackApiUrl: `${apiUrl}/`, retryConfig: { retries: 1, minTimeout: 500 } } },
    });
    const authorization = { botToken: credentials.botToken, botUserId: credentials.botUserId, botId: credentials.botId, teamId: credentials.teamId };
    this.app = new App({ receiver: this.receiver, socketMode: true, logger, authorize: async () => authorization, clientOptions: { slackApiUrl: `${apiUrl}/` } });
    this.state = { state: 'stopped', detail: 'not started', account: credentials.account, mode: 'socket mode', since: Date.now() };
    this.watchSocket();
  }

  get health(): ChannelHealth {
    return { ...this.state };
  }

  get connected(): boolean {
    return this.state.state === 'connected';
  }

  /** Connect in the background; never waits for Slack. */
  start(): void {
    this.stopped = false;
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.setState('stopped', 'stopped');
    await this.app.stop().catch(() => undefined);
  }

  private watchSocket(): void {
    const socket = this.receiver.client;
    // Bolt's reconnect calls start() without catching what it throws; every failed start comes here instead.
    const start = socket.start.bind(socket);
    socket.start = (() => start().catch((err: unknown) => this.startFailed(err))) as typeof socket.start;
    socket.on('connected', () => {
      this.failures = 0;
      this.authFailures = 0;
      this.setState('connected', `socket mode as ${this.opts.credentials.account}`);
      this.opts.onConnected();
    });
    socket.on('close', () => {
      if (!this.stopped && this.state.state === 'connected') this.setState('connecting', 'connection lost; reconnecting');
    });
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    if (this.state.state !== 'offline') this.setState('connecting', 'connecting');
    try {
      await this.client.auth.test();
    } catch (err) {
      return this.startFailed(err, 'bot token');
    }
    if (!this.stopped) await this.app.start();
  }

  private startFailed(err: unknown, token = 'app-level token'): void {
    if (this.stopped) return;
    const code = platformError(err);
    const refused = code !== undefined && AUTH_ERRORS.has(code);
    if (refused && ++this.authFailures >= this.retry.authAttempts) {
      this.setState('failed', `Slack refused the ${token} (${code}) ${this.authFailures} times; run \`carapace channel add slack\``);
      return;
    }
    const delay = backoffDelay(++this.failures, this.retry.baseMs, this.retry.maxMs) * (0.5 + (this.opts.random ?? Math.random)() / 2);
    const why = refused ? `Slack refused the ${token} (${code})` : isNetworkError(err) ? 'Slack is unreachable' : `Slack failed (${code ?? (err as Error).message})`;
    this.setState('offline', `${why}; retrying in ${Math.round(delay / 1000)} s`);
    this.timer = setTimeout(() => void this.attempt(), delay);
    this.timer.unref();
  }

  private setState(state: ChannelHealth['state'], detail: string): void {
    const changed = state !== this.state.state;
    this.state = { ...this.state, state, detail, since: changed ? Date.now() : this.state.since };
    if (!changed) return;
    const level = state === 'failed' ? 'error' : state === 'offline' ? 'warn' : 'info';
    this.opts.log[level]({ channel: 'slack', state, detail }, `Slack ${state}`);
  }
}
