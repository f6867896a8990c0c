import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { DEFAULT_BASE_IMAGE, type ImageConfig } from './sandbox/image.js';
import { RUNTIME_KINDS, type RuntimeKind } from './sandbox/runtime.js';
import { DEFAULT_ALLOWLIST, parseDomainRule } from './boundary/egress-policy.js';
import { isTimeZone, systemTimeZone } from './time.js';

export interface Config {
  assistantName: string;
  /** Root for the store, group folders, SDK state and run directories. */
  dataDir: string;
  timeZone: string;
  model: string;
  credentials: { apiKey?: string; oauthToken?: string };
  /** Where the model proxy forwards to: Anthropic, or any Anthropic-compatible endpoint. */
  upstreamUrl: string;
  maxSandboxes: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
  runTimeoutMs: number;
  retry: { baseMs: number; maxMs: number; maxAttempts: number };
  /** Shortest interval a scheduled task may repeat at. */
  taskMinIntervalMs: number;
  /** Bound on the catch-up prompt (messages since the agent's last turn). */
  promptBudget: { maxMessages: number; maxChars: number };
  /** Which sandbox backend: `auto` takes the first that works here (see sandbox/select.ts). */
  runtime: RuntimeKind | 'auto';
  /** How image backends build the agent image. */
  image: ImageConfig;
  /** The sandbox user and the default per-sandbox limits (a group's container_config may override the limits). */
  sandbox: { uid: number; gid: number; memoryMb: number; pids: number; cpus: number };
  web: { host: string; port: number };
  logLevel: string;
  /** Extra environment for the Claude Code CLI inside sandboxes (e.g. CLAUDE_CODE_MAX_RETRIES). */
  cliEnv: Record<string, string>;
  /** The owner's home (what `~` means in the mount allowlist). */
  homeDir: string;
  /** The owner's list of host directories groups may mount; outside the project, never mounted anywhere. */
  mountAllowlistPath: string;
  egress: {
    /** Domains a group without its own list may reach. */
    defaultAllow: string[];
    /** `ip:port` LAN destinations exempt from the private-address block (each must still be on a group's list). */
    privateAllow: string[];
  };
  whatsapp: WhatsAppConfig;
}

export interface WhatsAppConfig {
  /** true/false when WHATSAPP_ENABLED says so; 'auto' = on once this install is paired. */
  enabled: boolean | 'auto';
  /** The assistant has its own number (else it shares the owner's and signs replies with its name). */
  ownNumber: boolean;
  /** "self", a phone number (digits), a group JID (…@g.us), or "none". */
  mainChat: string;
  maxMediaBytes: number;
  sendPerMinute: number;
  sendBurst: number;
}

export class ConfigError extends Error {}

/** process.env wins over .env; .env is read from the working directory when present. */
export function readEnv(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = resolve(cwd, '.env');
  let fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch (err) {
      throw new ConfigError(`Could not read ${file}: ${(err as Error).message}`);
    }
  }
  return { ...fromFile, ...env };
}

function int(env: Record<string, string | undefined>, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}".`);
  return n;
}

const list = (raw: string) => raw.split(/[\s,]+/).filter(Boolean);

function egressConfig(env: Record<string, string | undefined>): Config['egress'] {
  // Set but empty means "no web access by default"; unset means the built-in list.
  const defaultAllow = env.CARAPACE_EGRESS_DEFAULT_ALLOW === undefined ? DEFAULT_ALLOWLIST : list(env.CARAPACE_EGRESS_DEFAULT_ALLOW);
  for (const entry of defaultAllow) {
    try {
      parseDomainRule(entry);
    } catch (err) {
      throw new ConfigError(`CARAPACE_EGRESS_DEFAULT_ALLOW: ${(err as Error).message}`);
    }
  }
  const privateAllow = list(env.CARAPACE_EGRESS_PRIVATE_ALLOW ?? '');
  for (const entry of privateAllow) {
    const m = /^(.+):(\d+)$/.exec(entry);
    if (!m || !isIP(m[1]) || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ConfigError(`CARAPACE_EGRESS_PRIVATE_ALLOW entries are ip:port (e.g. 192.168.1.20:8123), got "${entry}".`);
  }
  return { defaultAllow: [...defaultAllow], privateAllow };
}

function flag(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be 1 or 0 (true/false), got "${env[name]}".`);
}

function whatsappConfig(env: Record<string, string | undefined>): WhatsAppConfig {
  const ownNumber = flag(env, 'WHATSAPP_OWN_NUMBER') ?? false;
  const mainChat = (env.WHATSAPP_MAIN_CHAT?.trim() || (ownNumber ? '' : 'self')).replace(/^\+/, '');
  if (!mainChat) {
    throw new ConfigError(
      'WHATSAPP_OWN_NUMBER=1 needs WHATSAPP_MAIN_CHAT: the owner\'s phone number (e.g. 4915112345678) or a group id (…@g.us), ' +
        'or "none" to keep the main chat elsewhere.',
    );
  }
  if (!/^(self|none|\d{6,15}|[\d-]{6,40}@g\.us)$/.test(mainChat) || (ownNumber && mainChat === 'self')) {
    throw new ConfigError(
      `WHATSAPP_MAIN_CHAT must be ${ownNumber ? '' : '"self", '}a phone number with country code (digits), a group id ending in @g.us, ` +
        `or "none"; got "${env.WHATSAPP_MAIN_CHAT}".`,
    );
  }
  return {
    enabled: flag(env, 'WHATSAPP_ENABLED') ?? 'auto',
    ownNumber,
    mainChat,
    maxMediaBytes: int(env, 'WHATSAPP_MEDIA_MAX_MB', 50, 1) * 1024 * 1024,
    sendPerMinute: int(env, 'WHATSAPP_SEND_PER_MINUTE', 20, 1),
    sendBurst: int(env, 'WHATSAPP_SEND_BURST', 5, 1),
  };
}

export function loadConfig(env = readEnv(), opts: { requireCredentials?: boolean } = {}): Config {
  const apiKey = env.ANTHROPIC_API_KEY || undefined;
  const oauthToken = env.CLAUDE_CODE_OAUTH_TOKEN || undefined;
  if (opts.requireCredentials !== false && !apiKey && !oauthToken) {
    throw new ConfigError(
      'No model credentials. Set ANTHROPIC_API_KEY (from console.anthropic.com) or CLAUDE_CODE_OAUTH_TOKEN ' +
        '(from `claude setup-token`) in your environment or in a .env file next to package.json, e.g.\n' +
        '  echo "ANTHROPIC_API_KEY=sk-ant-..." >> .env',
    );
  }
  const name = env.ASSISTANT_NAME?.trim() || 'Andy';
  if (!/^[\p{L}\p{N}_ -]{1,40}$/u.test(name)) {
    throw new ConfigError(`ASSISTANT_NAME must be 1–40 letters, digits, spaces, "-" or "_", got "${name}".`);
  }
  const timeZone = env.CARAPACE_TZ || env.TZ || systemTimeZone();
  if (!isTimeZone(timeZone)) {
    throw new ConfigError(`Unknown timezone "${timeZone}" (CARAPACE_TZ / TZ); use an IANA name like Europe/Berlin.`);
  }
  const runtime = (env.CARAPACE_RUNTIME || 'auto') as Config['runtime'];
  if (runtime !== 'auto' && !RUNTIME_KINDS.includes(runtime)) {
    throw new ConfigError(`CARAPACE_RUNTIME must be one of auto, ${RUNTIME_KINDS.join(', ')}; got "${runtime}".`);
  }
  const chromium = env.CARAPACE_IMAGE_CHROMIUM || '0';
  if (chromium !== '0' && chromium !== '1') throw new ConfigError(`CARAPACE_IMAGE_CHROMIUM must be 0 or 1, got "${chromium}".`);
  const cliEnv: Record<string, string> = {};
  for (const key of ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH', 'ANTHROPIC_SMALL_FAST_MODEL']) {
    if (env[key]) cliEnv[key] = env[key]!;
  }
  const homeDir = env.HOME || homedir();
  return {
    assistantName: name,
    dataDir: resolve(env.CARAPACE_DATA_DIR || 'data'),
    timeZone,
    model: env.CARAPACE_MODEL || 'claude-sonnet-4-5',
    credentials: { apiKey, oauthToken },
    upstreamUrl: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
    maxSandboxes: int(env, 'CARAPACE_MAX_SANDBOXES', 5, 1),
    idleTimeoutMs: int(env, 'CARAPACE_IDLE_TIMEOUT_MS', 30 * 60_000, 100),
    heartbeatMs: int(env, 'CARAPACE_HEARTBEAT_MS', 5_000, 50),
    runTimeoutMs: int(env, 'CARAPACE_RUN_TIMEOUT_MS', 60 * 60_000, 1_000),
    retry: {
      baseMs: int(env, 'CARAPACE_RETRY_BASE_MS', 5_000, 1),
      maxMs: int(env, 'CARAPACE_RETRY_MAX_MS', 5 * 60_000, 1),
      maxAttempts: int(env, 'CARAPACE_RETRY_ATTEMPTS', 3, 1),
    },
    runtime,
    image: { base: env.CARAPACE_BASE_IMAGE || DEFAULT_BASE_IMAGE, chromium: chromium === '1' },
    taskMinIntervalMs: int(env, 'CARAPACE_TASK_MIN_INTERVAL_MS', 60_000, 100),
    promptBudget: {
      maxMessages: int(env, 'CARAPACE_PROMPT_MAX_MESSAGES', 200, 1),
      maxChars: int(env, 'CARAPACE_PROMPT_MAX_CHARS', 60_000, 1_000),
    },
    sandbox: {
      uid: int(env, 'CARAPACE_SANDBOX_UID', 1000, 1),
      gid: int(env, 'CARAPACE_SANDBOX_GID', 1000, 1),
      memoryMb: int(env, 'CARAPACE_SANDBOX_MEMORY_MB', 2048, 64),
      pids: int(env, 'CARAPACE_SANDBOX_PIDS', 512, 16),
      cpus: int(env, 'CARAPACE_SANDBOX_CPUS', 2, 1),
    },
    web: { host: env.CARAPACE_WEB_HOST || '127.0.0.1', port: int(env, 'CARAPACE_WEB_PORT', 4780, 0) },
    logLevel: env.LOG_LEVEL || 'info',
    cliEnv,
    homeDir,
    mountAllowlistPath: resolve(env.CARAPACE_MOUNT_ALLOWLIST || join(homeDir, '.config', 'carapace', 'mount-allowlist.json')),
    egress: egressConfig(env),
    whatsapp: whatsappConfig(env),
  };
}
