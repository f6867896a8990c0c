// The Web API client every Slack call goes through, and how its errors are told apart.
import { ErrorCode, LogLevel, WebClient, type Logger as SlackLogger, type RetryOptions } from '@slack/web-api';
import type { Logger } from 'pino';

/**
 * A Web API client for `config.channels.slack.apiUrl`. Rate limits: the client waits out `Retry-After` and tries
 * again (at most `retries` times, also for network errors), so a 429 never reaches the caller as an error.
 */
export function webClient(apiUrl: string, token: string | undefined, retryConfig: RetryOptions, logger?: SlackLogger): WebClient {
  return new WebClient(token, { slackApiUrl: `${apiUrl}/`, retryConfig, rejectRateLimitedCalls: false, logger: logger ?? quiet });
}

/** The Slack libraries' chatter goes to debug; their errors are warnings (the channel reports its own state). */
export function libraryLogger(log?: Logger): SlackLogger {
  const line = (level: 'debug' | 'warn') => (...msg: unknown[]) => log?.[level]({ module: 'slack' }, msg.map(String).join(' '));
  return { debug: line('debug'), info: line('debug'), warn: line('debug'), error: line('warn'), setLevel() {}, getLevel: () => LogLevel.DEBUG, setName() {} };
}

const quiet = libraryLogger();

/** Slack's error code of a failed call ("invalid_auth"), or undefined when it failed elsewhere (network, HTTP). */
export function platformError(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: string } };
  return e?.code === ErrorCode.PlatformError ? e.data?.error : undefined;
}

/** The call never got an answer from Slack (network down, DNS, refused connection). */
export const isNetworkError = (err: unknown) => (err as { code?: string })?.code === ErrorCode.RequestError;

/** Errors of a token Slack will not take, retrying will not help. */
export const AUTH_ERRORS = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'not_allowed_token_type']);
