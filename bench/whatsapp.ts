// WhatsApp overhead, warm, through the Baileys-facing code over the fake socket.
import { FakeWhatsApp, fakeWhatsAppChannel, OWNER_PN, waMessage } from '../test/support/fake-whatsapp.js';
import { startHarness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';

/**
 * The same through the WhatsApp channel (Baileys-facing code over the fake socket): the owner's self-chat message
 * → model request, and the model's last byte → sendMessage on the socket. The send rate limit is lifted: it is
 * a deliberate delay, not overhead.
 */
export async function whatsappOverhead(messages: number): Promise<{ inbound: number[]; outbound: number[] }> {
  const wa = new FakeWhatsApp();
  const h = await startHarness({
    env: { WHATSAPP_SEND_PER_MINUTE: '600000', WHATSAPP_SEND_BURST: '1000' },
    channels: (config, log) => [fakeWhatsAppChannel(wa, config, log)],
  });
  const self = `${OWNER_PN}@s.whatsapp.net`;
  try {
    while (!h.app.store.groupByChat(`wa:${self}`)?.isMain) await new Promise((r) => setTimeout(r, 20));
    const sentAt: number[] = [];
    wa.onSent = () => sentAt.push(performance.now());
    const inbound: number[] = [];
    const outbound: number[] = [];
    for (let i = 0; i < messages + 5; i++) {
      const message = waMessage({ chat: self, fromMe: true, message: { conversation: `whatsapp message ${i}` } });
      inbound.push(await messageToModel(h, () => wa.receive([message])));
      while (sentAt.length < i + 1) await new Promise((r) => setTimeout(r, 2));
      outbound.push(sentAt[i] - h.fake.requests.filter((r) => r.kind === 'main').at(-1)!.respondedAt!);
    }
    return { inbound: inbound.slice(5), outbound: outbound.slice(5) }; // the first turns warm the CLI up
  } finally {
    await h.close();
  }
}
