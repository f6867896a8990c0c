// The gateway connection: a discord.js client whose own resume/reconnect keeps it up, and a health line that
// follows it. Login is retried with backoff while Discord is unreachable; a refused token (close 4004) or a
// refused privileged intent (4014) stops it for good with what to change in the developer portal. One log line
// per state change.
import { Client, Events, GatewayIntentBits, Options, Partials } from 'discord.js';
import type { Logger } from 'pino';
import { backoffDelay } from '../../backoff.js';
import type { ChannelHealth } from '../channel.js';
import { PORTAL } from './setup.js';

export interface ConnectionOptions {
  token: string;
  account: string;
  applicationId: string;
  apiUrl: string;
  log: Logger;
  /** Called on READY and RESUMED: replies that waited can go. `fresh`: a new session (READY), nothing replayed. */
  onReady(fresh: boolean): void;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * Guilds: servers and channels, to list them for registering; GuildMessages and DirectMessages: the messages;
 * MessageContent (privileged): their text. No members, no presences.
 */
export const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent];

/** What to change when Discord closes the gateway for good. */
export function fatalCloseReason(code: number, applicationId: string): string | undefined {
  if (code === 4004) return `Discord rejected the bot token (close 4004): reset it at ${PORTAL}/${applicationId}/bot and run \`carapace channel add discord\` again`;
  if (code === 4014) return `Discord refused the Message Content intent (close 4014): turn on "Message Content Intent" at ${PORTAL}/${applicationId}/bot under Privileged Gateway Intents, then restart Carapace`;
  if (code === 4013) return 'Discord refused the gateway intents (close 4013): this is a bug in Carapace, please report it';
  return undefined;
}

type ShardSockets = Map<number, { connection?: { on(event: 'error', listener: () => void): unknown } | null }>;

/**
 * @discordjs/ws 1.2 abandons a socket that is still connecting when it is destroyed, error handler and all: its
 * later connection error (reset, refused) would be an uncaught exception. Give each shard's socket a handler first.
 */
function ignoreAbandonedSocketErrors(client: Client): void {
  const shards = (client.ws as unknown as { _ws?: { strategy?: { shards?: ShardSockets } } })._ws?.strategy?.shards;
  for (const shard of shards?.values() ?? []) shard.connection?.on('error', () => undefined);
}

type PacedShard = { internalConnect(): Promise<void>; paced?: boolean };

/**
 * @discordjs/ws 1.2 reconnects a lost shard every 500 ms for as long as an outage lasts (a fixed sleep in its
 * destroy-and-recover path, no option to change it). Each shard's connect waits `delay()` first instead, so an
 * outage costs a bounded number of attempts. A connect due after the client stopped does not happen.
 */
function paceReconnects(client: Client, delay: () => number): void {
  const shards = (client.ws as unknown as { _ws?: { strategy?: { shards?: Map<number, PacedShard> } } })._ws?.strategy?.shards;
  for (const shard of shards?.values() ?? []) {
    if (shard.paced) continue;
    shard.paced = true;
    const connect = shard.internalConnect.bind(shard);
    shard.internalConnect = async () => {
      const wait = delay();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref());
      if (client.token) return connect(); // destroy() clears the token: stopped meanwhile
    };
  }
}

type PacketHandling = { handlePacket(packet?: { t?: string }, shard?: unknown): boolean; contained?: boolean };

/**
 * discord.js 14 handles each gateway packet synchronously inside @discordjs/ws's async message handler, so a
 * throw there is an unhandled rejection, which ends Carapace. One is known: opcode 9 read together with RESUMED
 * clears the session before RESUMED's handler reads it. A packet whose handling throws is logged and dropped.
 */
function containPacketErrors(client: Client, log: Logger): void {
  const manager = client.ws as unknown as PacketHandling;
  if (manager.contained) return;
  manager.contained = true;
  const handle = manager.handlePacket.bind(manager);
  manager.handlePacket = (packet, shard) => {
    try {
      return handle(packet, shard);
    } catch (err) {
      log.warn({ err, packet: packet?.t }, 'Discord: handling a gateway packet failed; dropped it');
      return false;
    }
  };
}

export class DiscordConnection {
  readonly client: Client;
  private state: ChannelHealth;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Gateway reconnects since the connection was last up. */
  private reconnects = 0;

  constructor(private readonly opts: ConnectionOptions) {
    this.state = { state: 'connecting', detail: 'connecting to the gateway', account: opts.account, mode: 'gateway', since: Date.now() };
    this.client = new Client({
      intents: INTENTS,
      partials: [Partials.Channel], // DM channels arrive uncached
      rest: { api: opts.apiUrl },
      // Little is cached: messages only so an edit can be compared with what it replaced.
      makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 50, ReactionManager: 0, GuildMemberManager: 0, UserManager: 100, PresenceManager: 0 }),
    });
    containPacketErrors(this.client, opts.log);
    this.follow();
  }

  /** While connected, the detail also says in how many servers the bot is (it changes without a state change). */
  health(): ChannelHealth {
    const servers = this.client.guilds.cache.size;
    if (this.state.state !== 'connected') return { ...this.state };
    return { ...this.state, detail: `${this.state.detail} in ${servers} server${servers === 1 ? '' : 's'}` };
  }

  get ready(): boolean {
    return this.state.state === 'connected';
  }

  /** Starts logging in without waiting for Discord. */
  start(): void {
    this.stopped = false;
    void this.login();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.setState('stopped', 'disconnected');
    ignoreAbandonedSocketErrors(this.client);
    await this.client.destroy();
  }

  private async login(): Promise<void> {
    try {
      await this.client.login(this.opts.token);
    } catch (err) {
      if (this.stopped || this.state.state === 'failed') return;
      const code = (err as { code?: string }).code;
      if (code === 'TokenInvalid') return this.setState('failed', fatalCloseReason(4004, this.opts.applicationId)!);
      const delay = this.nextDelay();
      this.setState('offline', `cannot reach Discord (${(err as Error).message}), retrying in ${Math.round(delay / 1000)} s`);
      this.retryTimer = setTimeout(() => void this.login(), delay);
      this.retryTimer.unref();
    }
  }

  private follow(): void {
    const { client } = this;
    const up = (how: string, fresh: boolean) => {
      this.attempt = 0;
      this.reconnects = 0;
      this.setState('connected', `${how} as @${client.user?.username ?? this.opts.account.replace(/^@/, '')}`);
      this.opts.onReady(fresh);
    };
    // Every READY: the first after a start (what was said while Carapace was down is not replayed), and after an
    // invalid session or a lost one.
    client.on(Events.ShardReady, () => up('connected to the gateway', true));
    client.on(Events.ShardResume, () => up('gateway resumed', false));
    // Fired on every attempt while the gateway is away: reported once, when it goes.
    client.on(Events.ShardReconnecting, () => {
      const since = new Date().toISOString().slice(11, 16);
      if (!this.stopped && this.state.state === 'connected') this.setState('offline', `gateway connection lost at ${since} UTC, reconnecting`);
      this.reconnects++;
      paceReconnects(client, () => this.reconnectDelay());
    });
    client.on(Events.ShardDisconnect, ({ code }) => {
      const reason = fatalCloseReason(code, this.opts.applicationId);
      if (!this.stopped) this.setState('failed', reason ?? `the gateway closed for good (code ${code})`);
    });
    client.on(Events.ShardError, (err) => this.opts.log.debug({ err }, 'Discord gateway error'));
    client.on(Events.Error, (err) => this.opts.log.warn({ err }, 'Discord client error'));
  }

  /** The first reconnect after a drop goes at once (a blip resumes); later ones wait their backoff step. */
  private reconnectDelay(): number {
    if (this.stopped) return 0;
    return this.reconnects <= 1 ? 0 : this.nextDelay();
  }

  /** Capped exponential backoff with jitter (half to all of the step), per failed attempt since the last READY. */
  private nextDelay(): number {
    return backoffDelay(++this.attempt, this.opts.retryBaseMs ?? 2000, this.opts.retryMaxMs ?? 300_000) * (0.5 + Math.random() / 2);
  }

  private setState(state: ChannelHealth['state'], detail: string): void {
    if (this.state.state === state && this.state.detail === detail) return;
    const log = state === 'failed' ? this.opts.log.error.bind(this.opts.log) : this.opts.log.info.bind(this.opts.log);
    log({ state }, `Discord: ${detail}`);
    this.state = { ...this.state, state, detail, since: Date.now() };
  }
}
