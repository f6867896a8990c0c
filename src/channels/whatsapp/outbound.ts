// Outgoing messages: WhatsApp markup, long text split into parts, the assistant's signature when it shares the
// owner's number, rate limiting, and message ids derived from the delivery key — so a part re-sent after a failure
// or a crash carries the id it had the first time, and parts already sent are not sent again in this process.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { AnyMessageContent } from '@whiskeysockets/baileys';
import type { OutboundFile } from '../channel.js';
import { PartProgress } from '../kit/part-progress.js';
import { splitMessage } from '../../markdown/split.js';
import { toWhatsApp } from './format.js';
import { signed } from './inbound.js';
import type { RateLimiter } from './rate-limit.js';
import type { WASocketLike } from './socket.js';

export interface OutboundOptions {
  assistantName: string;
  ownNumber: boolean;
  maxChars: number;
  limiter: RateLimiter;
}

/** Ids we sent recently: their echoes are not new messages. Bounded, oldest forgotten first. */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 2000) {}
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }
  has(id: string | null | undefined): boolean {
    return !!id && this.ids.has(id);
  }
}

/** An id in WhatsApp's own format (3EB0 + 18 hex digits), stable for a delivery key and part. */
export function messageIdFor(key: string, part: number): string {
  return '3EB0' + createHash('sha256').update(`${key}\u0000${part}`).digest('hex').toUpperCase().slice(0, 18);
}

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.ogg': 'audio/ogg; codecs=opus',
  '.opus': 'audio/ogg; codecs=opus',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.zip': 'application/zip',
};

/** How WhatsApp should show a file: photos, videos and audio inline, everything else as a document. */
export function fileContent(file: OutboundFile, data: Buffer, caption: string | undefined): AnyMessageContent {
  const mimetype = MIME[extname(file.fileName).toLowerCase()] ?? 'application/octet-stream';
  if (mimetype.startsWith('image/') && mimetype !== 'image/gif') return { image: data, caption, mimetype };
  if (mimetype.startsWith('video/')) return { video: data, caption, mimetype };
  if (mimetype.startsWith('audio/') && !caption) return { audio: data, mimetype };
  return { document: data, mimetype, fileName: file.fileName, caption };
}

export class Outbound {
  readonly progress = new PartProgress();
  readonly sent = new RecentIds();

  constructor(private readonly opts: OutboundOptions) {}

  /** WhatsApp has one sender per account: the assistant signs when it shares the owner's number, roles always. */
  private sign(text: string, role?: string): string {
    if (!this.opts.ownNumber) return signed(text, this.opts.assistantName, role);
    return role ? `*${role}:* ${text}` : text;
  }

  /** Send text as one or more messages; resolves to the last part's id. */
  async sendText(sock: () => WASocketLike, jid: string, text: string, key: string, role?: string): Promise<string> {
    const room = this.opts.maxChars - this.sign('', role).length;
    const parts = splitMessage(toWhatsApp(text), room);
    return this.progress.send(key, parts.length, (i) => this.sendOne(sock, jid, { text: this.sign(parts[i], role) }, key, i));
  }

  async sendFile(sock: () => WASocketLike, jid: string, file: OutboundFile, key: string): Promise<string> {
    const caption = file.caption ? this.sign(toWhatsApp(file.caption)) : this.opts.ownNumber ? undefined : `${this.opts.assistantName}:`;
    return this.sendOne(sock, jid, fileContent(file, readFileSync(file.path), caption), key, 0);
  }

  private async sendOne(sock: () => WASocketLike, jid: string, content: AnyMessageContent, key: string, part: number): Promise<string> {
    await this.opts.limiter.take();
    const messageId = messageIdFor(key, part);
    this.sent.add(messageId); // before sending: the echo can arrive before sendMessage resolves
    const sent = await sock().sendMessage(jid, content, { messageId });
    return sent?.key.id ?? messageId;
  }
}
