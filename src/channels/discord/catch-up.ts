// A gateway outage longer than a resume allows ends the session (@discordjs/ws identifies afresh after a network
// error), and Discord does not replay what was said meanwhile. So the channel remembers the last message it saw
// in each chat and, on the next fresh READY, asks REST for what came after it, oldest first. The store ignores a
// message it already has (same chat and platform id), so an overlap is harmless. After a restart (a crash
// included) the newest stored message of each chat is where it starts, so what was said while Carapace was down
// is fetched on the first READY too.
import type { Client, Message } from 'discord.js';

/** Discord returns at most this many per page; a longer outage keeps the latest page's worth per chat. */
const PAGE = 100;

const newer = (a: string, b: string) => BigInt(a) > BigInt(b);

export class CatchUp {
  private readonly lastSeen = new Map<string, string>();

  seen(message: Pick<Message, 'channelId' | 'id'>): void {
    const last = this.lastSeen.get(message.channelId);
    if (!last || newer(message.id, last)) this.lastSeen.set(message.channelId, message.id);
  }

  /** Hands `take` every message after the last seen one in each chat `wanted` accepts. */
  async run(client: Client, wanted: (channelId: string) => boolean, take: (message: Message) => Promise<void>): Promise<number> {
    let count = 0;
    for (const [channelId, after] of this.lastSeen) {
      if (!wanted(channelId)) continue;
      const channel = client.channels.cache.get(channelId) ?? (await client.channels.fetch(channelId).catch(() => null));
      if (!channel?.isTextBased()) continue;
      const missed = await channel.messages.fetch({ after, limit: PAGE });
      for (const message of [...missed.values()].sort((a, b) => (newer(a.id, b.id) ? 1 : -1))) {
        this.seen(message);
        await take(message);
        count++;
      }
    }
    return count;
  }
}
