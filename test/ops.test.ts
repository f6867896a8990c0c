import { describe, expect, it } from 'vitest';
import { OpError, runOp, type OpContext } from '../src/host/ops.js';
import { openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/store.js';

describe('agent requests', () => {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const family = store.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const ctx = (group = main): OpContext => ({ group, runId: 'r', store, registerGroup: (g) => store.registerGroup(g) });

  it('main may list every group', async () => {
    const groups = (await runOp(ctx(), 'list_groups', {})) as { folder: string }[];
    expect(groups.map((g) => g.folder)).toEqual(['main', 'family']);
  });

  it('another group may not, whatever its request says', async () => {
    for (const op of ['list_groups', 'list_chats', 'register_group']) {
      await expect(runOp(ctx(family), op, { asMain: true, chatId: 'wa:1@g.us', folder: 'x' })).rejects.toThrow(
        new OpError(`${op} is only available in the main chat`),
      );
    }
  });

  it('unknown and inherited property names are not operations', async () => {
    for (const op of ['drop_tables', 'constructor', '__proto__', 'toString']) {
      await expect(runOp(ctx(), op, {})).rejects.toThrow(`unknown operation "${op}"`);
    }
  });

  it('main lists the chats seen on channels and registers one ("join the Family group")', async () => {
    store.upsertChat({ chatId: 'wa:120363000000000001@g.us', name: 'Family WhatsApp', isGroup: true });
    store.upsertChat({ chatId: 'wa:4915100000002@s.whatsapp.net', name: 'Bob', isGroup: false });
    store.insertMessage({ chatId: 'wa:4915100000002@s.whatsapp.net', platformId: 'x', senderId: 'b', senderName: 'Bob', text: 'hi', timestamp: 1_700_000_000_000 });
    const chats = (await runOp(ctx(), 'list_chats', { query: 'family' })) as { chatId: string; isGroup: boolean; registeredAs: string | null }[];
    expect(chats).toEqual([
      { chatId: 'local:family', name: 'Family', isGroup: false, lastMessageAt: null, registeredAs: 'family' },
      { chatId: 'wa:120363000000000001@g.us', name: 'Family WhatsApp', isGroup: true, lastMessageAt: null, registeredAs: null },
    ]);
    const all = (await runOp(ctx(), 'list_chats', {})) as { chatId: string; lastMessageAt: string | null }[];
    expect(all[0]).toMatchObject({ chatId: 'wa:4915100000002@s.whatsapp.net', lastMessageAt: '2023-11-14T22:13:20.000Z' });

    const made = await runOp(ctx(), 'register_group', { chatId: 'wa:120363000000000001@g.us', folder: 'family-wa' });
    expect(made).toEqual({ name: 'Family WhatsApp', chatId: 'wa:120363000000000001@g.us', folder: 'family-wa', trigger: '@Andy' });
    expect(store.groupByChat('wa:120363000000000001@g.us')).toMatchObject({ channel: 'wa', isMain: false, requiresTrigger: true });
  });

  it('register_group refuses bad folders, unknown or registered chats, taken folders, malformed arguments', async () => {
    store.upsertChat({ chatId: 'wa:120363000000000009@g.us', name: 'Book club', isGroup: true });
    const refuse = (args: unknown, message: RegExp) => expect(runOp(ctx(), 'register_group', args)).rejects.toThrow(message);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: '../main' }, /Invalid group folder name/);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: '/etc' }, /Invalid group folder name/);
    await refuse({ chatId: 'wa:nobody@g.us', folder: 'x' }, /no chat wa:nobody@g.us is known; use list_chats/);
    await refuse({ chatId: 'local:family', folder: 'x' }, /already registered \(folder "family"\)/);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: 'main' }, /folder "main" is taken/);
    await refuse({ chatId: 42, folder: 'x' }, /bad arguments: chatId/);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: 'books', isMain: true, requiresTrigger: 'no' }, /bad arguments: requiresTrigger/);
    expect(store.groupByChat('wa:120363000000000009@g.us')).toBeUndefined();
  });
});
