// How a card's button names itself on a platform (Telegram callback_data, Slack action_id, Discord custom_id):
// "card:<card id>:<choice>", well under every platform's limit, read back when the button is pressed.
import type { Card } from '../channel.js';

export const cardActionId = (card: Card, choice: string) => `card:${card.id}:${choice}`;

/** The card and choice a pressed button names, or undefined for anything else. */
export function readCardAction(data: string | undefined): { cardId: string; choice: string } | undefined {
  const m = /^card:([^:]{1,20}):([a-z]{1,10})$/.exec(data ?? '');
  return m ? { cardId: m[1], choice: m[2] } : undefined;
}
