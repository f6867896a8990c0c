// WhatsApp inside a real Carapace (store, orchestrator, delivery; no agent runs needed): replies queued while
// WhatsApp is unreachable wait without burning attempts, survive a restart, and go out exactly once after the
// reconnect; the self-chat becomes the main chat.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCarapace, type Carapace } from '../src/app.js';
import { messageIdFor } from '../src/channels/whatsapp/outbound.js';
import { FakeWhatsApp, fakeWhatsAppChannel, groupMetadata, OWNER_PN } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';
import { until } from './support/wait.js';

const FAMILY = '120363000000000001@g.us';
const log = pino({ level: 'silent' });
let app: Carapace | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});


const outbox = (a: Carapace) =>
  a.store.db.prepare('SELECT id, text, status, attempts, platform_message_id AS pid, created_at AS createdAt FROM outbox ORDER BY id').all() as {
    id: number;
    text: string;
    status: string;
    attempts: number;
    pid: string | null;
    createdAt: number;
  }[];

describe('WhatsApp in Carapace', () => {
  it('replies queued while offline survive a restart and are delivered exactly once, in order', async () => {
    const wa = new FakeWhatsApp();
    wa.groups = [groupMetadata(FAMILY, 'Family')];
    wa.network = 'down';
    const config = testConfig(sandboxReadableTempDir('carapace-wa-deliver-'), 'http://127.0.0.1:9', { WHATSAPP_MAIN_CHAT: 'none' });
    const boot = async () => (app = await startCarapace(config, log, { channels: [fakeWhatsAppChannel(wa, config, log)] }));

    await boot();
    const family = app!.orchestrator.registerGroup({ channel: 'wa', chatId: `wa:${FAMILY}`, name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
    for (const [i, text] of ['first', 'second', 'third'].entries()) {
      app!.store.queueOutput({ runId: 'r-offline', seq: i + 1, chatId: family.chatId, text, groupId: family.id });
    }
    app!.orchestrator.delivery.kick();
    await until(() => wa.sockets.length >= 3); // it keeps trying to connect meanwhile
    expect(outbox(app!).map((r) => [r.status, r.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
      ['pending', 0],
    ]);
    expect(wa.sent).toEqual([]);

    await app!.stop(); // the process goes away with three replies undelivered
    wa.network = 'up';
    await boot();
    await until(() => wa.sent.length === 3);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may follow
    const rows = outbox(app!);
    expect(wa.sent.map((s) => [s.jid, 'text' in s.content && s.content.text])).toEqual([
      [FAMILY, 'Andy: first'],
      [FAMILY, 'Andy: second'],
      [FAMILY, 'Andy: third'],
    ]);
    // Ids derive from the outbox row, so a re-send after a crash between send and bookkeeping keeps its id.
    expect(wa.sent.map((s) => s.options?.messageId)).toEqual(rows.map((r) => messageIdFor(`outbox-${r.id}-${r.createdAt}`, 0)));
    expect(rows.map((r) => [r.status, r.attempts, r.pid])).toEqual(rows.map((r) => ['sent', 1, messageIdFor(`outbox-${r.id}-${r.createdAt}`, 0)]));

    await app!.stop();
    await boot();
    await until(() => app!.pairing?.status().status === 'open');
    await new Promise((r) => setTimeout(r, 200));
    expect(wa.sent).toHaveLength(3);
  });

  it('the owner’s self-chat becomes the main chat; the local chat stays answered as its own group', async () => {
    const wa = new FakeWhatsApp();
    const config = testConfig(sandboxReadableTempDir('carapace-wa-main-'), 'http://127.0.0.1:9');
    app = await startCarapace(config, log, { channels: [fakeWhatsAppChannel(wa, config, log)] });
    const self = `wa:${OWNER_PN}@s.whatsapp.net`;
    await until(() => app!.store.groupByChat(self));
    const groups = () => app!.store.listGroups().map((g) => [g.chatId, g.folder, g.isMain, g.requiresTrigger]);
    expect(groups()).toEqual([
      [self, 'main', true, false],
      ['local:owner', 'local', false, false],
    ]);
    await app.stop();
    app = await startCarapace(config, log, { channels: [fakeWhatsAppChannel(wa, config, log)] });
    await until(() => app!.pairing?.status().status === 'open');
    expect(groups()).toEqual([
      [self, 'main', true, false],
      ['local:owner', 'local', false, false],
    ]);
  });
});
