// What Carapace is configured with, once loaded and checked.
import type { ImageConfig, RuntimeKind } from './sandbox-settings.js';

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
  /** How long a run told to close may take to finish its turn before its sandbox is stopped. */
  closeGraceMs: number;
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
  sandbox: {
    uid: number;
    gid: number;
    memoryMb: number;
    pids: number;
    cpus: number;
    /** Disk a group's folder may take (a group's `diskQuotaMb` overrides it); a run is stopped at it. */
    diskQuotaMb: number;
    /** Free disk the host keeps for its store: no run starts below it, and a run is stopped that goes below it. */
    diskReserveMb: number;
  };
  web: { host: string; port: number };
  /** pino's level names, or silent. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** The JSON-lines log under the data directory: rotated at `maxMb`, `keep` old files kept. */
  logFile: { maxMb: number; keep: number };
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
    /** CARAPACE_EGRESS_UPSTREAM_CA: a PEM file of extra roots for upstreams of intercepted (secret) hosts; tests only. */
    upstreamCaFile?: string;
    /** How long a request to a host not on the list waits for the owner's allow/deny card (then it is refused). */
    approvalTimeoutMs: number;
  };
  whatsapp: WhatsAppConfig;
  /** Telegram, Slack and Discord: their API endpoints and media cap (credentials live in the data directory). */
  channels: BotChannelsConfig;
}

export interface BotChannelsConfig {
  /** TELEGRAM_API_ROOT: the Bot API server (grammY's `apiRoot`). */
  telegram: { apiRoot: string; maxMediaBytes: number };
  /** SLACK_API_URL: the Web API base (Bolt's `clientOptions.slackApiUrl`). */
  slack: { apiUrl: string; maxMediaBytes: number };
  /** DISCORD_API_URL: the REST base (discord.js's `rest.api`); the gateway URL comes from GET /gateway/bot. */
  discord: { apiUrl: string; maxMediaBytes: number };
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
