import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type MainMove } from '../src/store/store.js';
import type { ClaimRequest } from './support/main-claim-worker.js';

// The local chat keeps a group of its own when main leaves it, as LocalChannel says through fallbackFolder.
const trigger = { trigger: '@Andy', fallbackFolder: (chatId: string) => (chatId.startsWith('local:') ? 'local' : undefined) };
const self = (chatId: string, name = 'Me') => ({ chatId, name, isGroup: false });

/** A store whose main group is still the local chat, as on a first start. */
function localMain(file = ':memory:'): Store {
  const store = new Store(openDatabase(file));
  store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  return store;
}

describe('moving the main group', () => {
  it('registers main where there is none, and a second claim of the same chat changes nothing', () => {
    const store = new Store(openDatabase(':memory:'));
    const first = store.moveMain(self('wa:1@s.whatsapp.net'), trigger);
    expect(first).toMatchObject({ outcome: 'created', main: { folder: 'main', isMain: true, requiresTrigger: false, trigger: '@Andy', name: 'Me' } });
    expect(first.created).toEqual([store.groupByChat('wa:1@s.whatsapp.net')]);
    expect(store.moveMain(self('wa:1@s.whatsapp.net'), trigger)).toEqual({ outcome: 'unchanged', main: first.created[0], created: [] });
  });

  it('moves main off the local chat, keeps its folder and session, and keeps the local chat answered', () => {
    const store = localMain();
    const main = store.groupByChat('local:owner')!;
    store.setSession(main.id, '6f1c9a52-4f7e-4d7e-9a43-0d3c1b2a9e10');
    const old = store.insertMessage({ chatId: 'wa:1@s.whatsapp.net', platformId: 'x', senderId: 'me', senderName: 'Me', text: 'old', timestamp: 1 })!;

    const move = store.moveMain(self('wa:1@s.whatsapp.net'), trigger);
    expect(move).toMatchObject({ outcome: 'moved', from: 'local:owner', main: { id: main.id, folder: 'main', chatId: 'wa:1@s.whatsapp.net', cursor: old } });
    expect(move.created).toMatchObject([{ chatId: 'local:owner', folder: 'local', isMain: false, requiresTrigger: false, trigger: '@Andy' }]);
    expect(store.sessionOf(main.id)).toBe('6f1c9a52-4f7e-4d7e-9a43-0d3c1b2a9e10');

    const again = store.moveMain(self('wa:2@s.whatsapp.net'), trigger); // same channel: main follows, no second local group
    expect(again).toMatchObject({ outcome: 'moved', from: 'wa:1@s.whatsapp.net', created: [] });
    expect(store.listGroups().map((g) => [g.folder, g.chatId])).toEqual([
      ['main', 'wa:2@s.whatsapp.net'],
      ['local', 'local:owner'],
    ]);
  });

  it('refuses a chat registered as another group, and a main chat on another channel, changing nothing', () => {
    const store = localMain();
    const family = store.registerGroup({ channel: 'wa', chatId: 'wa:f@g.us', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
    expect(store.moveMain(self('wa:f@g.us'), trigger)).toEqual({ outcome: 'refused', reason: 'chat-is-another-group', taken: family, created: [] });
    store.moveMain(self('wa:1@s.whatsapp.net'), trigger);
    const before = store.listGroups();
    expect(store.moveMain(self('tg:7'), trigger)).toMatchObject({ outcome: 'refused', reason: 'main-on-another-channel', main: { chatId: 'wa:1@s.whatsapp.net' } });
    expect(store.listGroups()).toEqual(before);
  });
});

describe('two claims racing on separate connections', () => {
  const worker = join(APP_ROOT, 'dist', 'test', 'support', 'main-claim-worker.js');
  let racers: Worker[] = [];

  beforeAll(() => {
    if (!existsSync(worker)) throw new Error(`${worker} is missing: run \`npm run build\` first`);
    racers = [new Worker(worker), new Worker(worker)];
  });
  afterAll(async () => {
    await Promise.all(racers.map((w) => w.terminate()));
  });

  /** Both workers claim at the same moment; resolves to what each did. */
  async function race(file: string, chats: string[]): Promise<MainMove[]> {
    const barrier = new SharedArrayBuffer(4);
    const replies = racers.map(
      (w, i) =>
        new Promise<{ move?: MainMove; error?: string }>((resolve) => {
          w.once('message', resolve);
          w.postMessage({ file, chat: self(chats[i]), barrier, racers: racers.length } satisfies ClaimRequest);
        }),
    );
    const results = await Promise.all(replies);
    expect(results.map((r) => r.error)).toEqual([undefined, undefined]); // neither claim failed (no SQLITE_BUSY, no UNIQUE clash)
    return results.map((r) => r.move!);
  }

  it('two channels claim main at once: exactly one moves it, the other is refused, one local group results', async () => {
    for (let round = 0; round < 15; round++) {
      const file = join(mkdtempSync(join(tmpdir(), 'carapace-race-')), 'carapace.db');
      localMain(file).db.close();
      const moves = await race(file, ['wa:1@s.whatsapp.net', 'tg:42']);
      expect(moves.map((m) => m.outcome).sort()).toEqual(['moved', 'refused']);
      const winner = moves.find((m) => m.outcome === 'moved')! as Extract<MainMove, { outcome: 'moved' }>;
      expect(moves.find((m) => m.outcome === 'refused')).toMatchObject({ reason: 'main-on-another-channel', main: { chatId: winner.main.chatId } });
      const store = new Store(openDatabase(file));
      expect(store.listGroups().map((g) => [g.folder, g.chatId])).toEqual([
        ['main', winner.main.chatId],
        ['local', 'local:owner'],
      ]);
      store.db.close();
    }
  });

  it('two chats of one channel claim main at once: both moves apply in turn, the local group is created once', async () => {
    for (let round = 0; round < 15; round++) {
      const file = join(mkdtempSync(join(tmpdir(), 'carapace-race-')), 'carapace.db');
      localMain(file).db.close();
      const chats = ['wa:1@s.whatsapp.net', 'wa:2@s.whatsapp.net'];
      const moves = (await race(file, chats)) as Extract<MainMove, { outcome: 'moved' }>[];
      expect(moves.map((m) => m.outcome)).toEqual(['moved', 'moved']);
      const [first, second] = moves[0].from === 'local:owner' ? moves : [moves[1], moves[0]];
      expect(first.created.map((g) => g.folder)).toEqual(['local']);
      expect(second).toMatchObject({ from: first.main.chatId, created: [] });
      const store = new Store(openDatabase(file));
      expect(store.listGroups().map((g) => [g.folder, g.chatId])).toEqual([
        ['main', second.main.chatId],
        ['local', 'local:owner'],
      ]);
      store.db.close();
    }
  });
});
