// The two grammY API clients a Telegram channel uses, and what its errors mean for Carapace.
// `send` carries replies: the throttler keeps us under Telegram's flood limits and auto-retry waits out a 429's
// retry_after; network errors are not retried there (the outbox waits for the connection instead).
// `control` carries polling, getMe, getFile and "typing…": no throttling (a typing refresh must not use up a
// group's 20 messages a minute) and no retries, since the poller has its own backoff.
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { Api, GrammyError, HttpError } from 'grammy';

export interface ApiOptions {
  apiRoot: string;
  /** Overrides of the throttler's per-chat and per-group limits (tests use faster ones). */
  throttle?: Parameters<typeof apiThrottler>[0];
  /** The longest retry_after auto-retry waits out before the error goes to delivery's own backoff. */
  maxRetryAfterSeconds?: number;
}

export interface TelegramApis {
  send: Api;
  control: Api;
}

export function createApis(token: string, opts: ApiOptions): TelegramApis {
  const client = { apiRoot: opts.apiRoot };
  const send = new Api(token, client);
  send.config.use(apiThrottler(opts.throttle));
  send.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: opts.maxRetryAfterSeconds ?? 60, rethrowHttpErrors: true }));
  return { send, control: new Api(token, client) };
}

/** What went wrong with a Bot API call, in the terms the channel acts on. */
export type ApiFailure =
  | 'network' // no answer: Telegram (or our network) is unreachable
  | 'unauthorized' // 401: the token was revoked
  | 'conflict' // 409: another process polls this token, or a webhook is set
  | 'unreachable-chat' // 403 / chat not found: the bot was removed or blocked
  | 'bad-markup' // 400: the HTML was refused or the text is too long for it
  | 'rate-limited' // 429 that auto-retry gave up on
  | 'other';

export function classify(err: unknown): ApiFailure {
  if (err instanceof HttpError) return 'network';
  if (!(err instanceof GrammyError)) return 'other';
  const { error_code: code, description } = err;
  if (code === 401) return 'unauthorized';
  if (code === 409) return 'conflict';
  if (code === 403 || /chat not found|group chat was upgraded/i.test(description)) return 'unreachable-chat';
  if (code === 429) return 'rate-limited';
  if (code === 400 && /can't parse entities|message is too long|caption is too long/i.test(description)) return 'bad-markup';
  return 'other';
}

/** The seconds Telegram asked us to wait (429), if it did. */
export const retryAfter = (err: unknown): number | undefined =>
  err instanceof GrammyError ? err.parameters.retry_after : undefined;
