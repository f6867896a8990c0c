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

interface ScaleCase {
  groups: number;
  messages: number;
  h: Harness;
  /** One warm sample: inbound → model request, once the reply is out. */
  sample(): Promise<number>;
}

/** One case: its own Carapace with `groups` groups and `messages` stored, its sandbox started and warmed. */
async function openCase(groups: number, messages: number): Promise<ScaleCase> {
  const h = await startHarness({ env: { LOG_LEVEL: 'warn', CARAPACE_IDLE_TIMEOUT_MS: '600000' } });
  const { orchestrator, store } = h.app;
  for (let i = 0; i < groups; i++) {
    store.upsertChat({ chatId: chatOf(i), name: `Scale ${i}`, isGroup: true });
    orchestrator.registerGroup({ channel: 'local', chatId: chatOf(i), name: `Scale ${i}`, folder: `scale${i}`, trigger: '@Andy', requiresTrigger: true, isMain: false });
  }
  seedBacklog(h, groups, messages);
  const chat = chatOf(0);
  let n = 0;
  const say = (text: string): InboundMessage => ({ chatId: chat, platformId: `bench${n}`, senderId: 'u1', senderName: 'Ann', text, timestamp: Date.now() });
  const sample = async () => {
    const ms = await messageToModel(h, () => orchestrator.handleInbound(say(`@Andy question ${n}`)));
    await untilAnswered(h, chat, ++n);
    return ms;
  };
  for (let i = 0; i < 3; i++) await sample(); // the first is a cold start, the next two warm the CLI's caches
  return { groups, messages, h, sample };
}

/**
 * Every case open at once and sampled in turn (one sample of each, then the next round), so a noisy moment on
 * the machine falls on all cases alike instead of on whichever case ran then.
 */
export async function scaleBench(opts: { messages: number[]; groups: number[]; samples: number }) {
  const open: ScaleCase[] = [];
  try {
    for (const messages of opts.messages) for (const groups of opts.groups) open.push(await openCase(groups, messages));
    const samples = open.map(() => [] as number[]);
    for (let round = 0; round < opts.samples; round++) for (const [i, c] of open.entries()) samples[i].push(await c.sample());
    const cases = open.map((c, i) => ({ messages: c.messages, groups: c.groups, warm: stats(samples[i]) }));
    for (const c of cases) console.log(`scale: ${c.messages} stored messages, ${c.groups} groups: inbound → model request, warm (ms)`, c.warm);
    const base = cases[0].warm.p50;
    const withRatio = cases.map((c) => ({ ...c, p50VsSmallest: Math.round((c.warm.p50 / base) * 100) / 100 }));
    const worst = Math.max(...withRatio.map((c) => c.p50VsSmallest));
    return { cases: withRatio, worstP50VsSmallest: worst, target: 'every case within 1.5× of the smallest (p50)', sampling: 'all cases open, sampled round-robin' };
  } finally {
    for (const c of open) await c.h.close();
  }
}
