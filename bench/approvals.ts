// Egress approvals: from the moment the egress proxy holds a request for a host that is not on the list to the
// moment the owner's card arrives — at the local chat's event stream, and at the fake Telegram Bot API server as
// sendMessage with an inline keyboard. Real orchestrator, store, proxy (on a Unix socket) and channels; each
// request is then denied through the card so the next one starts clean. Target: ≤ 1 s.
// Run alone with `npm run bench:approvals`, or as part of `npm run bench`.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startEgressProxy } from '../src/boundary/egress-proxy.js';
import { TelegramChannel } from '../src/channels/telegram/telegram-channel.js';
import { telegramOptions } from '../src/channels/telegram/plugin.js';
import { askOwner } from '../src/core/approval-asker.js';
import { newPairingCode, PAIRING_CODE_TTL_MS } from '../src/core/bot-owners.js';
import { BOT, dmWith, FakeTelegram, people, TOKEN } from '../test/support/fake-telegram.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { until } from '../test/support/wait.js';
import { stats } from './stats.js';

const REQUESTS = Number(process.env.BENCH_APPROVALS ?? 30);

/** CONNECT through the proxy's socket; resolves when the proxy answers (after the card is answered). */
function heldConnect(socketPath: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath, () => s.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got.split('\r\n')[0]));
    s.on('error', reject);
  });
}

/** Hold `REQUESTS` requests one after another; each time from ask() to `cardSeen()` returning a timestamp. */
async function measure(h: Harness, groupId: number, cardSeen: (n: number) => number | undefined, deny: (n: number) => Promise<void>): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'carapace-bench-approvals-'));
  let heldAt = 0;
  const proxy = await startEgressProxy({
    socketPath: join(dir, 'egress.sock'),
    rules: () => [],
    log: pino({ level: 'silent' }),
    ask: (req) => {
      heldAt = performance.now();
      return askOwner(h.config.dataDir, groupId, req);
    },
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < REQUESTS + 3; i++) {
      const answered = heldConnect(join(dir, 'egress.sock'), `site${i}.example.org`);
      const seenAt = await until(() => cardSeen(i), 10_000, () => `card ${i + 1}`);
      await deny(i);
      const status = await answered;
      if (!status.startsWith('HTTP/1.1 403')) throw new Error(`a denied request got ${status}`);
      if (i >= 3) samples.push(seenAt - heldAt); // the first ones warm up the paths
    }
  } finally {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return samples;
}

export async function approvalCardLatency() {
  const local = await startHarness({ env: { CARAPACE_EGRESS_DEFAULT_ALLOW: '' } });
  let localMs: number[];
  try {
    const main = local.app.store.mainGroup()!;
    localMs = await measure(local, main.id, (i) => local.cards[i]?.at, async (i) => void (await local.pressCard(local.cards[i].id, 'deny')));
  } finally {
    await local.close();
  }
  const fake = await new FakeTelegram().start();
  const saved = { account: `@${BOT.username}`, token: TOKEN, botId: BOT.id, username: BOT.username!, name: BOT.first_name };
  const h = await startHarness({
    env: { TELEGRAM_API_ROOT: fake.url, CARAPACE_EGRESS_DEFAULT_ALLOW: '' },
    channels: (config, log) => [new TelegramChannel({ ...telegramOptions(config, saved, log), throttle: { group: { maxConcurrent: 1 }, out: { maxConcurrent: 1 } } })],
  });
  try {
    const code = newPairingCode();
    h.app.store.issuePairingCode('telegram', code, Date.now() + PAIRING_CODE_TTL_MS);
    fake.receive(dmWith(people.olga), people.olga, { text: code });
    await until(() => h.app.store.mainGroup()?.chatId === 'tg:111', 10_000, () => 'main on Telegram');
    const cards = () => fake.sentTo(111).filter((m) => m.buttons);
    const telegramMs = await measure(h, h.app.store.mainGroup()!.id, (i) => cards()[i]?.at, async (i) => {
      fake.press(cards()[i], people.olga, cards()[i].buttons![2][1]);
    });
    return { heldToCardMs: { localChat: stats(localMs), telegram: stats(telegramMs) }, target: '≤ 1000 ms' };
  } finally {
    await h.close();
    await fake.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await approvalCardLatency(), null, 2));
}
