// Replies to Slack: mrkdwn, split under Slack's limit, in the thread the chat id names, a team member's role as the
// sender (chat:write.customize), files through files.uploadV2. A reply split in parts remembers how far it got,
// so a retry after a failed part does not post the earlier parts again. Slack's refusals are sorted for delivery:
// a chat the bot was removed from is unreachable; no connection or a refused token means wait.
import { readFileSync } from 'node:fs';
import type { WebClient } from '@slack/web-api';
import { splitMessage } from '../../markdown/split.js';
import { ChannelUnavailableError, ChatUnreachableError, type Card, type OutboundFile } from '../channel.js';
import { cardActionId } from '../kit/card-action.js';
import { PartProgress } from '../kit/part-progress.js';
import { toMrkdwn } from './format.js';
import { slackTarget } from './ids.js';
import { AUTH_ERRORS, isNetworkError, platformError } from './web.js';

/** Slack cuts a message's text at 40,000 characters but advises under 4,000 for reading; we stay under that. */
export const MAX_CHARS = 3_900;
const GONE = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'cannot_dm_bot', 'user_disabled', 'team_access_not_granted']);

export interface OutboundOptions {
  client: WebClient;
  connected: () => boolean;
  maxChars?: number;
}

export class SlackOutbound {
  readonly progress = new PartProgress();

  constructor(private readonly opts: OutboundOptions) {}

  async sendText(chatId: string, text: string, key: string, role?: string): Promise<string> {
    const { channel, threadTs } = slackTarget(chatId);
    const parts = splitMessage(toMrkdwn(text), this.opts.maxChars ?? MAX_CHARS);
    return this.progress.send(key, parts.length, async (i) => {
      const res = await this.call(chatId, () =>
        this.opts.client.chat.postMessage({ channel, thread_ts: threadTs, text: parts[i], username: role, mrkdwn: true, unfurl_links: false }),
      );
      return res.ts ?? '';
    });
  }

  /** A card: its text as a section and its choices as Block Kit buttons ("card:<id>:<choice>" action ids). */
  async sendCard(chatId: string, card: Card): Promise<string> {
    const { channel, threadTs } = slackTarget(chatId);
    const buttons = card.choices.map((c) => ({
      type: 'button' as const,
      text: { type: 'plain_text' as const, text: c.label },
      action_id: cardActionId(card, c.id),
      value: c.id,
      ...(c.id === 'deny' ? { style: 'danger' as const } : {}),
    }));
    const blocks = [
      { type: 'section', text: { type: 'plain_text', text: card.text } },
      { type: 'actions', block_id: `card-${card.id}`, elements: buttons },
    ];
    const res = await this.call(chatId, () => this.opts.client.chat.postMessage({ channel, thread_ts: threadTs, text: card.text, blocks }));
    return res.ts ?? '';
  }

  async sendFile(chatId: string, file: OutboundFile): Promise<string> {
    const { channel, threadTs } = slackTarget(chatId);
    const data = readFileSync(file.path);
    const upload = (await this.call(chatId, () =>
      this.opts.client.filesUploadV2({
        channel_id: channel,
        thread_ts: threadTs as string, // undefined: the channel itself
        file: data,
        filename: file.fileName,
        initial_comment: file.caption ? toMrkdwn(file.caption) : undefined,
      }),
    )) as { files?: { files?: { id?: string }[] }[] };
    return upload.files?.[0]?.files?.[0]?.id ?? file.fileName;
  }

  /** One Web API call, its failure translated for delivery. */
  private async call<T>(chatId: string, request: () => Promise<T>): Promise<T> {
    if (!this.opts.connected()) throw new ChannelUnavailableError('Slack is not connected');
    try {
      return await request();
    } catch (err) {
      const code = platformError(err);
      if (code && GONE.has(code)) throw new ChatUnreachableError(`Slack refuses ${chatId}: ${code}`);
      if ((code && AUTH_ERRORS.has(code)) || isNetworkError(err)) throw new ChannelUnavailableError(`Slack: ${code ?? (err as Error).message}`);
      throw err;
    }
  }
}
