// The fault harness's world: the fake model and every platform (WhatsApp over the file wire, Telegram, Slack and
// Discord at their wire fakes), one chat on each plus the local chat, and the hook points where a kill can land.
// A chat knows how to say something in it and what its recipient saw: platform-side, after the platform's own
// idempotency (WhatsApp shows a message id once; Discord's enforce_nonce answers a repeated nonce with the
// message already made), so a duplicate counted here is one a person would see.
import { join } from 'node:path';
import { saveCredentials } from '../../src/channels/kit/credentials.js';
import type { Store } from '../../src/store/store.js';
import { defaultScript, startFakeAnthropic, text, type FakeAnthropic, type Script } from './fake-anthropic.js';
import { BOT as DC_BOT, FakeDiscord, message as dcMessage, TOKEN as DC_TOKEN } from './fake-discord.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack } from './fake-slack.js';
import { BOT as TG_BOT, FakeTelegram, people, supergroup, TOKEN as TG_TOKEN } from './fake-telegram.js';
import { WaWire } from './wa-wire.js';

export type HookKind = 'model-last-byte' | 'accept:wa' | 'accept:tg' | 'accept:slack' | 'accept:dc';

export interface SoakChat {
  name: string;
  chatId: string;
  /** Say `text` in the chat as a person (resolves once the platform, or the local API, took it). */
  say(text: string): Promise<void>;
  /** What the recipient saw, one entry per visible message. */
  seen(): string[];
  /** Sends the platform took more than once and showed once (its idempotency at work). */
  absorbed(): number;
}

export const WA_GROUP = '120363000000000077@g.us';
const TG_GROUP = supergroup(-100177, 'Soak');
const DC_GUILD = '700000000000000077';
const DC_CHANNEL = '710000000000000077';
const DC_BOB = { id: '800000000000000002', username: 'bob', global_name: 'Bob' };

/** The model answers every soak message id it was given: "ACK soak-3 soak-9". */
export const ackScript: Script = (req) => {
  const ids = req.isSideRequest ? [] : [...new Set(req.lastUserText.match(/soak-\d+/g) ?? [])];
  return ids.length ? { content: [text(`ACK ${ids.join(' ')}`)], delayMs: 50 } : defaultScript(req);
};

export interface SoakWorld {
  model: FakeAnthropic;
  tg: FakeTelegram;
  slack: FakeSlack;
  dc: FakeDiscord;
  wa: WaWire;
  /** The child's environment for these platforms. */
  env: Record<string, string>;
  /** Groups to register: one per platform chat, each answering every message. */
  groups: { channel: string; chatId: string; name: string; folder: string }[];
  chats(local: SoakChat): SoakChat[];
  /** Call `kill` at the next event of `kind` (once). */
  arm(kind: HookKind, kill: () => Promise<void>): void;
  disarm(): void;
  /** All connected (after a start): Telegram polling, Slack's socket open, Discord identified. */
  connected(since: { tgPolls: number; slackHellos: number; dcIdentifies: number }): boolean;
  counters(): { tgPolls: number; slackHellos: number; dcIdentifies: number };
  close(): Promise<void>;
}

export async function startSoakWorld(dataDir: string): Promise<SoakWorld> {
  const model = await startFakeAnthropic({ script: ackScript });
  const tg = await new FakeTelegram().start();
  const slack = new FakeSlack();
  await slack.start();
  const dc = await new FakeDiscord().start();
  dc.guilds = [{ id: DC_GUILD, name: 'Home', channels: [{ id: DC_CHANNEL, name: 'soak' }] }];
  const wa = new WaWire(join(dataDir, 'wa-wire'));
  saveCredentials(dataDir, 'telegram', { account: `@${TG_BOT.username}`, token: TG_TOKEN, botId: TG_BOT.id, username: TG_BOT.username, name: TG_BOT.first_name });
  saveCredentials(dataDir, 'slack', { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, team: 'Fake Team' });
  saveCredentials(dataDir, 'discord', { account: '@carapace', token: DC_TOKEN, botId: DC_BOT.id, applicationId: DC_BOT.id });

  let armed: { kind: HookKind; kill: () => Promise<void> } | undefined;
  const fire = async (kind: HookKind) => {
    if (armed?.kind !== kind) return;
    const { kill } = armed;
    armed = undefined;
    await kill();
  };
  model.onAnswered((rec) => void (rec.kind === 'main' && fire('model-last-byte')));
  tg.onAccepted = () => fire('accept:tg');
  slack.onAccepted = () => fire('accept:slack');
  dc.onAccepted = () => fire('accept:dc');
  const counters = () => ({ tgPolls: tg.calls.filter((c) => c === 'getUpdates').length, slackHellos: slack.hellos, dcIdentifies: dc.identifies.length });

  return {
    model, tg, slack, dc, wa,
    env: { TELEGRAM_API_ROOT: tg.url, SLACK_API_URL: slack.apiUrl, DISCORD_API_URL: dc.apiUrl, WHATSAPP_MAIN_CHAT: 'none' },
    groups: [
      { channel: 'wa', chatId: `wa:${WA_GROUP}`, name: 'Soak WhatsApp', folder: 'soak-wa' },
      { channel: 'tg', chatId: `tg:${TG_GROUP.id}`, name: 'Soak Telegram', folder: 'soak-tg' },
      { channel: 'slack', chatId: 'slack:CFAMILY', name: '#family', folder: 'soak-slack' },
      { channel: 'dc', chatId: `dc:${DC_CHANNEL}`, name: 'soak', folder: 'soak-dc' },
    ],
    chats: (local) => [
      local,
      chat('whatsapp', `wa:${WA_GROUP}`, async (t) => wa.say(WA_GROUP, '4915100000002@s.whatsapp.net', t), () => wa.sent().filter((s) => s.jid === WA_GROUP), (s) => s.id),
      chat('telegram', `tg:${TG_GROUP.id}`, async (t) => void tg.receive(TG_GROUP, people.bob, { text: t }), () => tg.sentTo(TG_GROUP.id).map((s) => ({ ...s, text: s.text ?? '' })), (s) => String(s.messageId)),
      chat('slack', 'slack:CFAMILY', async (t) => void slack.message({ channel: 'CFAMILY', user: 'UBOB', text: t }), () => slack.posted.filter((p) => p.channel === 'CFAMILY'), (p) => p.ts),
      chat('discord', `dc:${DC_CHANNEL}`, async (t) => dc.dispatch('MESSAGE_CREATE', dcMessage({ id: dc.snowflake(), channel_id: DC_CHANNEL, guild_id: DC_GUILD, author: DC_BOB, content: t })), () => dc.sent.map((m) => ({ ...m, text: m.content })), (m) => m.id),
    ],
    arm(kind, kill) {
      armed = { kind, kill };
      if (kind === 'accept:wa') wa.killAfterNextSend();
    },
    disarm() {
      armed = undefined;
      wa.disarm();
    },
    connected: (since) => {
      const now = counters();
      return now.tgPolls > since.tgPolls && now.slackHellos > since.slackHellos && now.dcIdentifies > since.dcIdentifies;
    },
    counters,
    async close() {
      await Promise.all([model.close(), tg.close(), slack.close(), dc.close()]);
    },
  };
}

/** A platform chat: what was accepted, shown once per platform identity (message id, ts, snowflake). */
function chat<T extends { text: string }>(name: string, chatId: string, say: (text: string) => Promise<void>, accepted: () => T[], identity: (m: T) => string): SoakChat {
  return {
    name,
    chatId,
    say,
    seen: () => [...new Map(accepted().map((m) => [identity(m), m.text])).values()],
    absorbed: () => accepted().length - new Set(accepted().map(identity)).size,
  };
}

/** The local chat: said through the running child's API; what it delivered is what its outbox marked sent. */
export function localChat(say: (text: string) => Promise<void>, store: () => Store): SoakChat {
  const rows = () => store().db.prepare("SELECT text FROM outbox WHERE chat_id = 'local:owner' AND status = 'sent'").all() as { text: string }[];
  return { name: 'local', chatId: 'local:owner', say, seen: () => rows().map((r) => r.text), absorbed: () => 0 };
}
