// Webhook mode (`carapace channel add telegram --webhook <url>`): Telegram posts updates to a public HTTPS address
// that a reverse proxy or tunnel forwards to a local port here. Each post must carry the secret set with
// setWebhook (X-Telegram-Bot-Api-Secret-Token); anything else is refused. Setting the webhook is retried with
// backoff until Telegram answers; a lost network is noticed by sends and checked with getWebhookInfo.
import http from 'node:http';
import type { Api } from 'grammy';
import type { Update } from 'grammy/types';
import { sameSecret } from '../../secret-compare.js';
import type { ChannelHealth } from '../channel.js';
import { classify } from './api.js';
import { LinkState, type Link, type LinkStateOptions } from './link-state.js';
import { deliverUpdate, UPDATES } from './poller.js';

export interface WebhookSettings {
  /** The public address Telegram posts to. */
  url: string;
  /** The local port the reverse proxy forwards to (on 127.0.0.1). */
  port: number;
  secret: string;
}

export interface WebhookOptions extends Omit<LinkStateOptions, 'mode'> {
  api: Api;
  webhook: WebhookSettings;
  handle(update: Update): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class WebhookLink implements Link {
  private readonly state: LinkState;
  private readonly server = http.createServer((req, res) => void this.receive(req, res));
  private stopped = true;
  private checking: Promise<void> | undefined;

  constructor(private readonly opts: WebhookOptions) {
    this.state = new LinkState({ ...opts, mode: 'webhook' });
  }

  get health(): ChannelHealth {
    return this.state.health;
  }

  start(): void {
    this.stopped = false;
    this.state.change('connecting', `setting the webhook to ${this.opts.webhook.url}`);
    this.server.on('error', (err) => this.state.change('failed', `cannot listen on 127.0.0.1:${this.opts.webhook.port}: ${err.message}`));
    this.server.listen(this.opts.webhook.port, '127.0.0.1');
    this.check(() => this.opts.api.setWebhook(this.opts.webhook.url, { secret_token: this.opts.webhook.secret, allowed_updates: [...UPDATES] }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state.interrupt();
    await this.checking;
    await new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    if (this.health.state !== 'failed') this.state.change('stopped', 'stopped');
  }

  lostNetwork(reason: string): void {
    if (this.health.state !== 'connected') return;
    this.state.offline(reason);
    this.check(() => this.opts.api.getWebhookInfo());
  }

  /** Call `probe` until Telegram answers it, backing off between failures; one check at a time. */
  private check(probe: () => Promise<unknown>): void {
    if (this.checking) return;
    this.checking = (async () => {
      while (!this.stopped && this.health.state !== 'failed') {
        try {
          await probe();
          this.state.connected(`webhook at ${this.opts.webhook.url} as ${this.opts.account}`);
          return;
        } catch (err) {
          if (classify(err) === 'unauthorized') return this.state.change('failed', 'Telegram refused the bot token (401 Unauthorized): set it up again with `carapace channel add telegram`');
          await this.state.backOff((err as Error).message);
        }
      }
    })().finally(() => (this.checking = undefined));
  }

  private async receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const secret = req.headers['x-telegram-bot-api-secret-token'];
    const path = new URL(this.opts.webhook.url).pathname;
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== path) return void res.writeHead(404).end();
    if (typeof secret !== 'string' || !sameSecret(secret, this.opts.webhook.secret)) return void res.writeHead(401).end();
    let update: Update;
    try {
      update = JSON.parse(await readLimited(req));
    } catch (err) {
      return void res.writeHead(400).end((err as Error).message);
    }
    await deliverUpdate(update, this.opts.handle, this.opts.log);
    res.writeHead(200).end();
  }
}

async function readLimited(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_BODY_BYTES) throw new Error('update too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
