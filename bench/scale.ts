// Cost as data grows: inbound message → the agent's model request (warm sandbox) with 10, 1,000 and 100,000
// stored messages and 1, 10 and 100 registered groups. The stored messages are untriggered chatter in the groups'
// chats, still pending (after each cursor) — the worst case for pending-work checks. The measured group needs a
// trigger, so every look at it has that backlog in front of it. Target: every case within 1.5× of the smallest.
import type { InboundMessage } from '../src/store/types.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';
import { stats } from './stats.js';

const chatOf = (i: number) => `local:scale${i}`;

/** `count` untriggered messages spread over the groups' chats, in one transaction (100,000 take well under a second). */
function seedBacklog(h: Harness, groups: number, count: number): void {
  const { store } = h.app;
  const insert = store.db.prepare(
    `INSERT INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant, addressed) VALUES (?, ?, 'u1', 'Ann', ?, ?, 0, 0)`,
  );
  const now = Date.now() - count;
  store.db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(chatOf(i % groups), `seed${i}`, `just chatting, message ${i}`, now + i);
  })();
}

async function untilAnswered(h: Harness, chatId: string, n: number): Promise<void> {
  const count = h.app.store.db.prepare('SELECT COUNT(*) FROM outbox WHERE chat_id = ?').pluck();
  while ((count.get(chatId) as number) < n) await new Promise((r) => setTimeout(r, 5));
}

/** One case: its own Carapace with `groups` groups and `messages` stored; warm inbound → model request samples. */
async function scaleCase(groups: number, messages: number, samples: number): Promise<number[]> {
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
  try {
    const { orchestrator, store } = h.app;
    for (let i = 0; i < groups; i++) {
      store.upsertChat({ chatId: chatOf(i), name: `Scale ${i}`, isGroup: true });
      orchestrator.registerGroup({ channel: 'local', chatId: chatOf(i), name: `Scale ${i}`, folder: `scale${i}`, trigger: '@Andy', requiresTrigger: true, isMain: false });
    }
    seedBacklog(h, groups, messages);
    const chat = chatOf(0);
    let n = 0;
    const say = (text: string): InboundMessage => ({ chatId: chat, platformId: `bench${n++}`, senderId: 'u1', senderName: 'Ann', text, timestamp: Date.now() });
    const out: number[] = [];
    for (let i = 0; i < samples + 3; i++) {
      const ms = await messageToModel(h, () => orchestrator.handleInbound(say(`@Andy question ${i}`)));
      await untilAnswered(h, chat, i + 1);
      if (i >= 3) out.push(ms); // the first is a cold start, the next two warm the CLI's caches
    }
    return out;
  } finally {
    await h.close();
  }
}

export async function scaleBench(opts: { messages: number[]; groups: number[]; samples: number }) {
  const cases: { messages: number; groups: number; warm: ReturnType<typeof stats> }[] = [];
  for (const messages of opts.messages) {
    for (const groups of opts.groups) {
      const warm = stats(await scaleCase(groups, messages, opts.samples));
      cases.push({ messages, groups, warm });
      console.log(`scale: ${messages} stored messages, ${groups} groups: inbound → model request, warm (ms)`, warm);
    }
  }
  const base = cases[0].warm.p50;
  const withRatio = cases.map((c) => ({ ...c, p50VsSmallest: Math.round((c.warm.p50 / base) * 100) / 100 }));
  const worst = Math.max(...withRatio.map((c) => c.p50VsSmallest));
  return { cases: withRatio, worstP50VsSmallest: worst, target: 'every case within 1.5× of the smallest (p50)' };
}
