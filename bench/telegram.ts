// Telegram's share of a message's trip, through the real grammY clients against the fake Bot API server: an update
// handed out by getUpdates → the model request, and the model's last byte → sendMessage arriving at the fake.
// The throttler's spacing between messages to one chat is lifted here: it is a deliberate delay, not overhead.
import { TelegramChannel } from '../src/channels/telegram/telegram-channel.js';
import { telegramOptions } from '../src/channels/telegram/plugin.js';
import { BOT, FakeTelegram, people, supergroup, TOKEN } from '../test/support/fake-telegram.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { recordMarkSent } from './delivery-window.js';

type MessageToModel = (h: Harness, send: () => Promise<void> | void) => Promise<number>;

const FAMILY = supergroup(-100111, 'Family');

export async function telegramOverhead(messages: number, messageToModel: MessageToModel): Promise<{ inbound: number[]; outbound: number[]; window: number[] }> {
  const fake = await new FakeTelegram().start();
  const saved = { account: `@${BOT.username}`, token: TOKEN, botId: BOT.id, username: BOT.username!, name: BOT.first_name };
  const unthrottled = { maxConcurrent: 1 };
  const h = await startHarness({
    env: { TELEGRAM_API_ROOT: fake.url },
    channels: (config, log) => [new TelegramChannel({ ...telegramOptions(config, saved, log), throttle: { group: unthrottled, out: unthrottled } })],
  });
  try {
    h.app.orchestrator.registerGroup({ channel: 'tg', chatId: 'tg:-100111', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: false, isMain: false });
    const inbound: number[] = [];
    const outbound: number[] = [];
    const window: number[] = [];
    const marks = recordMarkSent(h.app.store);
    for (let i = 0; i < messages + 5; i++) {
      inbound.push(await messageToModel(h, () => void fake.receive(FAMILY, people.bob, { text: `telegram message ${i}` })));
      while (fake.sent.length < i + 1) await new Promise((r) => setTimeout(r, 2));
      outbound.push(fake.sent[i].at - h.fake.requests.filter((r) => r.kind === 'main').at(-1)!.respondedAt!);
      while (marks.length < i + 1) await new Promise((r) => setTimeout(r, 1));
      window.push(marks[i] - fake.sent[i].at);
    }
    return { inbound: inbound.slice(5), outbound: outbound.slice(5), window: window.slice(5) }; // the first turns warm the CLI up
  } finally {
    await h.close();
    await fake.close();
  }
}
