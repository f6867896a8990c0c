// Display names of users and channels, asked of Slack once and remembered (users.info, conversations.info). A
// lookup that fails falls back to the id, and is asked again next time.
import type { WebClient } from '@slack/web-api';

export class SlackNames {
  private readonly users = new Map<string, string>();
  private readonly channels = new Map<string, string>();

  constructor(private readonly client: WebClient) {}

  async user(id: string): Promise<string> {
    const known = this.users.get(id);
    if (known) return known;
    const res = await this.client.users.info({ user: id }).catch(() => undefined);
    const u = res?.user;
    const name = u?.profile?.display_name || u?.profile?.real_name || u?.real_name || u?.name;
    if (name) this.users.set(id, name);
    return name ?? id;
  }

  async channel(id: string): Promise<string> {
    const known = this.channels.get(id);
    if (known) return known;
    const res = await this.client.conversations.info({ channel: id }).catch(() => undefined);
    const name = res?.channel?.name ? `#${res.channel.name}` : undefined;
    if (name) this.channels.set(id, name);
    return name ?? id;
  }

  /** Names for every user in `ids`, for a synchronous rewrite of a message's text. */
  async usersNamed(ids: string[]): Promise<Map<string, string>> {
    return new Map(await Promise.all([...new Set(ids)].map(async (id) => [id, await this.user(id)] as const)));
  }
}
