// Replies through Discord's REST API (discord.js's @discordjs/rest: its buckets wait out 429s). Every message
// allows no mentions, so a reply can never ping @everyone, a role or a person. Each message carries a nonce made
// from the outbox row's key with enforce_nonce: a re-send of the same row within Discord's nonce window (after a
// retried 5xx, or a crash between send and bookkeeping) returns the message already made instead of a second one.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DiscordAPIError, HTTPError, Routes, type REST } from 'discord.js';
import { ChannelUnavailableError, ChatUnreachableError, type Card, type OutboundFile, type SendOptions } from '../channel.js';
import { cardActionId } from '../kit/card-action.js';
import { discordMessages, signed, toDiscord } from './format.js';
import { channelIdOf } from './ids.js';

/** Missing Access, Cannot send messages to this user, Unknown Channel, Missing Permissions. */
const UNREACHABLE_CODES = new Set([50001, 50007, 10003, 50013]);
const NO_PINGS = { parse: [] as string[] };

/** A message nonce (Discord allows 25 characters) unique to one part of one outbox row. */
export function nonceFor(key: string | undefined, part: number): { nonce?: string; enforce_nonce?: boolean } {
  if (!key) return {};
  const nonce = createHash('sha256').update(`${key}#${part}`).digest('base64url').slice(0, 25);
  return { nonce, enforce_nonce: true };
}

/** Discord's refusal of a chat for good → ChatUnreachableError; no answer at all → ChannelUnavailableError. */
function translateError(err: unknown, chatId: string): Error {
  if (err instanceof DiscordAPIError && UNREACHABLE_CODES.has(Number(err.code))) {
    return new ChatUnreachableError(`Discord refuses ${chatId}: ${err.message} (code ${err.code})`);
  }
  if (err instanceof DiscordAPIError || err instanceof HTTPError) return err;
  return new ChannelUnavailableError(`Discord is unreachable: ${(err as Error).message}`);
}

export class DiscordOutbound {
  constructor(
    private readonly rest: REST,
    private readonly onUnreachable: () => void,
  ) {}

  /** Markdown → one or more Discord messages; resolves to the last message's id. */
  async sendText(chatId: string, markdown: string, opts: SendOptions = {}): Promise<string> {
    let id = '';
    for (const [i, content] of discordMessages(markdown, opts.sender).entries()) {
      id = await this.post(chatId, { body: { content, allowed_mentions: NO_PINGS, ...nonceFor(opts.key, i) } });
    }
    return id;
  }

  /** A file as an attachment (multipart), with its caption as the message text. */
  async sendFile(chatId: string, file: OutboundFile, opts: SendOptions = {}): Promise<string> {
    const data = await readFile(file.path);
    const caption = file.caption ? toDiscord(file.caption) : '';
    const content = signed(caption, opts.sender).slice(0, 2000);
    const body = { content, allowed_mentions: NO_PINGS, attachments: [{ id: 0, filename: file.fileName }], ...nonceFor(opts.key, 0) };
    return this.post(chatId, { body, files: [{ name: file.fileName, data }] });
  }

  /** A card: its text with a row of buttons whose presses come back as interactions ("card:<id>:<choice>"). */
  async sendCard(chatId: string, card: Card): Promise<string> {
    const buttons = card.choices.map((c) => ({ type: 2, style: c.id === 'deny' ? 4 : 1, label: c.label, custom_id: cardActionId(card, c.id) }));
    return this.post(chatId, { body: { content: card.text.slice(0, 2000), allowed_mentions: NO_PINGS, components: [{ type: 1, components: buttons }] } });
  }

  async typing(chatId: string): Promise<void> {
    await this.rest.post(Routes.channelTyping(channelIdOf(chatId)));
  }

  private async post(chatId: string, request: Parameters<REST['post']>[1]): Promise<string> {
    try {
      const message = (await this.rest.post(Routes.channelMessages(channelIdOf(chatId)), request)) as { id: string };
      return message.id;
    } catch (err) {
      const translated = translateError(err, chatId);
      if (translated instanceof ChannelUnavailableError) this.onUnreachable();
      throw translated;
    }
  }
}
