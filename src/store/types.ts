// Shapes the store takes in from the layers above. They live here, at the bottom, so the store depends on
// nothing above it: channels re-export the message types, the scheduler the schedule type.

/** A message as a channel hands it over. */
export interface InboundMessage {
  chatId: string;
  /** The platform's id for this message; with chatId it makes a message unique (redelivery is ignored). */
  platformId: string;
  senderId: string;
  senderName: string;
  text: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The chat's display name, when the platform knows it. */
  chatName?: string;
  /** Sent by the assistant itself (e.g. echoed back by the platform): stored, never triggers a run. */
  fromAssistant?: boolean;
  /**
   * Addressed to the assistant by the platform's own means (an @mention of the bot, a reply to one of its
   * messages): counts as the trigger, whatever the text says.
   */
  addressed?: boolean;
}

/** A chat the platform told us about (a group's name from metadata sync, a DM that wrote to us). */
export interface ChatInfo {
  chatId: string;
  name?: string;
  isGroup: boolean;
}

/** How a task's schedule value is read: a cron expression, a duration, or one point in time. */
export type ScheduleType = 'cron' | 'interval' | 'once';

/** The channel part of a namespaced chat id ("wa:123@g.us" → "wa"). */
export const channelOf = (chatId: string): string => chatId.split(':', 1)[0];
