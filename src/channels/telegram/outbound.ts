// Replies out to Telegram: Markdown rendered to Telegram HTML, split under 4,096 characters, a team member's role
// as a bold prefix (a bot has one name), files as photos or documents. If Telegram refuses the HTML (400 "can't
// parse entities"), the same part goes out as plain text instead of being lost. A reply's parts already sent are
// remembered per delivery key, so a retry after a failure continues with the next part.
import { readFileSync } from 'node:fs';
import { InputFile, type Api } from 'grammy';
import type { Message } from 'grammy/types';
import type { Logger } from 'pino';
import type { OutboundFile } from '../channel.js';
import { PartProgress } from '../kit/part-progress.js';
import { classify } from './api.js';
import { captionPart, messageParts, type MessagePart } from './format.js';
import { addressOf, targetOf } from './ids.js';

/** Telegram shows photos up to 10 MB inline; larger ones and other files go as documents. */
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
const PHOTO = /\.(jpe?g|png|webp)$/i;

type Send = (text: string | undefined, html: boolean) => Promise<Message>;

export class Outbound {
  readonly progress = new PartProgress();

  constructor(
    private readonly api: Api,
    private readonly log: Logger,
  ) {}

  /** Send a reply as one or more messages; resolves to the last one's id. */
  async sendText(chatId: string, markdown: string, key: string, role?: string): Promise<string> {
    const target = targetOf(chatId);
    const parts = messageParts(markdown, role);
    return this.progress.send(key, parts.length, (i) =>
      this.withFallback(parts[i], (text, html) =>
        this.api.sendMessage(target.chatId, text ?? '', {
          ...addressOf(target),
          ...(html ? { parse_mode: 'HTML' as const } : {}),
          link_preview_options: { is_disabled: true },
        }),
      ),
    );
  }

  async sendFile(chatId: string, file: OutboundFile): Promise<string> {
    const target = targetOf(chatId);
    const data = readFileSync(file.path);
    const asPhoto = PHOTO.test(file.fileName) && data.length <= PHOTO_MAX_BYTES;
    const send: Send = (caption, html) => {
      const other = { ...addressOf(target), caption, ...(html ? { parse_mode: 'HTML' as const } : {}) };
      const input = new InputFile(data, file.fileName);
      return asPhoto ? this.api.sendPhoto(target.chatId, input, other) : this.api.sendDocument(target.chatId, input, other);
    };
    const caption = captionPart(file.caption);
    return caption ? this.withFallback(caption, send) : String((await send(undefined, false)).message_id);
  }

  private async withFallback(part: MessagePart, send: Send): Promise<string> {
    try {
      return String((await send(part.html, true)).message_id);
    } catch (err) {
      if (classify(err) !== 'bad-markup') throw err;
      this.log.warn({ err: (err as Error).message }, 'telegram refused our HTML; sent as plain text');
      return String((await send(part.plain, false)).message_id);
    }
  }
}
