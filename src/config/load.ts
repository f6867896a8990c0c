// loadConfig: every setting from the environment, checked, with defaults; a bad one is a ConfigError saying how to fix it.
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { APP_ROOT } from '../app-root.js';
import { ConfigError, int, oneOf, readEnv, url, type Env } from './env.js';
import { DEFAULT_BASE_IMAGE, RUNTIME_KINDS, type ImageConfig } from './sandbox-settings.js';
import { botChannelsConfig } from './channels.js';
import { egressConfig, whatsappConfig } from './sections.js';
import type { Config } from './types.js';
import { isTimeZone, systemTimeZone } from '../time.js';

function credentials(env: Env, required: boolean): Config['credentials'] {
  const apiKey = env.ANTHROPIC_API_KEY || undefined;
  const oauthToken = env.CLAUDE_CODE_OAUTH_TOKEN || undefined;
  if (required && !apiKey && !oauthToken) {
    throw new ConfigError(
      'No model credentials. Set ANTHROPIC_API_KEY (from console.anthropic.com) or CLAUDE_CODE_OAUTH_TOKEN ' +
        '(from `claude setup-token`) in your environment or in a .env file next to package.json, e.g.\n' +
        '  echo "ANTHROPIC_API_KEY=sk-ant-..." >> .env',
    );
  }
  return { apiKey, oauthToken };
}

function assistantName(env: Env): string {
  const name = env.ASSISTANT_NAME?.trim() || 'Andy';
  if (!/^[\p{L}\p{N}_ -]{1,40}$/u.test(name)) {
    throw new ConfigError(`ASSISTANT_NAME must be 1–40 letters, digits, spaces, "-" or "_", got "${name}".`);
  }
  return name;
}

function timeZone(env: Env): string {
  const zone = env.CARAPACE_TZ || env.TZ || systemTimeZone();
  if (!isTimeZone(zone)) throw new ConfigError(`Unknown timezone "${zone}" (CARAPACE_TZ / TZ); use an IANA name like Europe/Berlin.`);
  return zone;
}

function runtime(env: Env): Config['runtime'] {
  const kind = (env.CARAPACE_RUNTIME || 'auto') as Config['runtime'];
  if (kind !== 'auto' && !RUNTIME_KINDS.includes(kind)) {
    throw new ConfigError(`CARAPACE_RUNTIME must be one of auto, ${RUNTIME_KINDS.join(', ')}; got "${kind}".`);
  }
  return kind;
}

function image(env: Env): ImageConfig {
  const chromium = env.CARAPACE_IMAGE_CHROMIUM || '0';
  if (chromium !== '0' && chromium !== '1') throw new ConfigError(`CARAPACE_IMAGE_CHROMIUM must be 0 or 1, got "${chromium}".`);
  return { base: env.CARAPACE_BASE_IMAGE || DEFAULT_BASE_IMAGE, chromium: chromium === '1' };
}

/** The Claude Code CLI settings passed through to sandboxes, checked as the CLI reads them. */
function cliEnv(env: Env): Record<string, string> {
  const passed: Record<string, string> = {};
  if (env.CLAUDE_CODE_MAX_RETRIES) passed.CLAUDE_CODE_MAX_RETRIES = String(int(env, 'CLAUDE_CODE_MAX_RETRIES', 0, 0, 100));
  if (env.ENABLE_TOOL_SEARCH) passed.ENABLE_TOOL_SEARCH = env.ENABLE_TOOL_SEARCH;
  if (env.ANTHROPIC_SMALL_FAST_MODEL) passed.ANTHROPIC_SMALL_FAST_MODEL = modelId(env, 'ANTHROPIC_SMALL_FAST_MODEL', '');
  return passed;
}

/** A model id such as claude-sonnet-4-5 (letters, digits and . _ : / @ -), or the default when unset. */
function modelId(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/.test(raw)) {
    throw new ConfigError(`${name} must be a model id like claude-sonnet-4-5 (letters, digits and . _ : / @ -), got "${raw}".`);
  }
  return raw;
}

/** Timings and bounds of runs: concurrency, timeouts, retries, task intervals, prompt size. */
function runSettings(env: Env) {
  return {
    maxSandboxes: int(env, 'CARAPACE_MAX_SANDBOXES', 5, 1),
    idleTimeoutMs: int(env, 'CARAPACE_IDLE_TIMEOUT_MS', 30 * 60_000, 100),
    heartbeatMs: int(env, 'CARAPACE_HEARTBEAT_MS', 5_000, 50),
    closeGraceMs: int(env, 'CARAPACE_CLOSE_GRACE_MS', 60_000, 100),
    runTimeoutMs: int(env, 'CARAPACE_RUN_TIMEOUT_MS', 60 * 60_000, 1_000),
    retry: {
      baseMs: int(env, 'CARAPACE_RETRY_BASE_MS', 5_000, 1),
      maxMs: int(env, 'CARAPACE_RETRY_MAX_MS', 5 * 60_000, 1),
      maxAttempts: int(env, 'CARAPACE_RETRY_ATTEMPTS', 3, 1),
    },
    taskMinIntervalMs: int(env, 'CARAPACE_TASK_MIN_INTERVAL_MS', 60_000, 100),
    promptBudget: {
      maxMessages: int(env, 'CARAPACE_PROMPT_MAX_MESSAGES', 200, 1),
      maxChars: int(env, 'CARAPACE_PROMPT_MAX_CHARS', 60_000, 1_000),
    },
  };
}

function sandbox(env: Env): Config['sandbox'] {
  return {
    uid: int(env, 'CARAPACE_SANDBOX_UID', 1000, 1),
    gid: int(env, 'CARAPACE_SANDBOX_GID', 1000, 1),
    memoryMb: int(env, 'CARAPACE_SANDBOX_MEMORY_MB', 2048, 64),
    pids: int(env, 'CARAPACE_SANDBOX_PIDS', 512, 16),
    cpus: int(env, 'CARAPACE_SANDBOX_CPUS', 2, 1),
    diskQuotaMb: int(env, 'CARAPACE_GROUP_DISK_QUOTA_MB', 5 * 1024, 1),
    diskReserveMb: int(env, 'CARAPACE_DISK_RESERVE_MB', 1024, 0),
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The local web chat and API: loopback by default; a host name or IP address, and a port (0: any free one). */
function web(env: Env): Config['web'] {
  const host = env.CARAPACE_WEB_HOST?.trim() || '127.0.0.1';
  if (!isIP(host) && !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(host)) {
    throw new ConfigError(`CARAPACE_WEB_HOST must be an IP address or host name like 127.0.0.1 or localhost, got "${host}".`);
  }
  return { host, port: int(env, 'CARAPACE_WEB_PORT', 4780, 0, 65535) };
}

function logs(env: Env): Pick<Config, 'logLevel' | 'logFile'> {
  return {
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logFile: { maxMb: int(env, 'CARAPACE_LOG_MAX_MB', 10, 1, 1024), keep: int(env, 'CARAPACE_LOG_KEEP', 5, 1, 100) },
  };
}

/** Relative paths in settings are relative to the folder holding package.json, wherever Carapace is started from. */
const fromRoot = (path: string) => resolve(APP_ROOT, path);

export function loadConfig(env = readEnv(), opts: { requireCredentials?: boolean } = {}): Config {
  // Checked in this order, so the first problem reported is the same one as always.
  const creds = credentials(env, opts.requireCredentials !== false);
  const name = assistantName(env);
  const zone = timeZone(env);
  const kind = runtime(env);
  const imageConfig = image(env);
  const homeDir = env.HOME || homedir();
  return {
    assistantName: name,
    dataDir: fromRoot(env.CARAPACE_DATA_DIR || 'data'),
    timeZone: zone,
    model: modelId(env, 'CARAPACE_MODEL', 'claude-sonnet-4-5'),
    credentials: creds,
    upstreamUrl: url(env, 'ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
    ...runSettings(env),
    runtime: kind,
    image: imageConfig,
    sandbox: sandbox(env),
    web: web(env),
    ...logs(env),
    cliEnv: cliEnv(env),
    homeDir,
    mountAllowlistPath: fromRoot(env.CARAPACE_MOUNT_ALLOWLIST || join(homeDir, '.config', 'carapace', 'mount-allowlist.json')),
    egress: egressConfig(env),
    whatsapp: whatsappConfig(env),
    channels: botChannelsConfig(env),
  };
}
