import { describe, expect, it } from 'vitest';
import { authorizeTarget, OpError, runOp, type OpContext, type OpHost } from '../src/ops/registry.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';

describe('agent requests', () => {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const family = store.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const tasks = { timeZone: 'UTC', minIntervalMs: 60_000, now: () => Date.now(), changed: () => undefined };
  const host: OpHost = { registerGroup: (g) => store.registerGroup(g), deliver: () => undefined, defaultEgressAllow: ['example.org'], tasks };
  const ctx = (group: Group, seq = 1): OpContext => ({ group, runId: 'r', seq, store, host });

  it('main may list every group', async () => {
    const groups = (await runOp(ctx(main), 'list_groups', {})) as { folder: string }[];
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
      await expect(runOp(ctx(main), op, {})).rejects.toThrow(`unknown operation "${op}"`);
    }
  });

  it('main may message another known chat; the message is queued once under the request’s key', async () => {
    store.insertMessage({ chatId: 'local:family', platformId: 'p1', senderId: 'a', senderName: 'Aunt', text: 'hi', timestamp: 1 });
    expect(await runOp(ctx(main, 7), 'send_message', { chatId: 'local:family', text: 'hello family' })).toBe('Sent to local:family.');
    await runOp(ctx(main, 7), 'send_message', { chatId: 'local:family', text: 'hello family' }); // replayed request
    expect(store.pendingOutbox().filter((o) => o.chatId === 'local:family').map((o) => [o.runId, o.seq, o.text])).toEqual([['r', 7, 'hello family']]);
    await expect(runOp(ctx(main), 'send_message', { chatId: 'wa:nobody', text: 'x' })).rejects.toThrow('unknown chat wa:nobody');
  });

  it('another group may only message its own chat, whatever the request claims', async () => {
    await expect(runOp(ctx(family), 'send_message', { chatId: 'local:owner', text: 'pwned', isMain: true })).rejects.toThrow(
      /this chat may only act on itself, not on local:owner/,
    );
    expect(store.pendingOutbox().some((o) => o.chatId === 'local:owner')).toBe(false);
    expect(authorizeTarget({ group: family, store }, undefined)).toBe('local:family');
    expect(authorizeTarget({ group: family, store }, 'local:family')).toBe('local:family');
  });

  it('main lists the chats seen on channels and registers one ("join the Family group")', async () => {
    store.upsertChat({ chatId: 'wa:120363000000000001@g.us', name: 'Family WhatsApp', isGroup: true });
    store.upsertChat({ chatId: 'wa:4915100000002@s.whatsapp.net', name: 'Bob', isGroup: false });
    store.insertMessage({ chatId: 'wa:4915100000002@s.whatsapp.net', platformId: 'x', senderId: 'b', senderName: 'Bob', text: 'hi', timestamp: 1_700_000_000_000 });
    const chats = (await runOp(ctx(main), 'list_chats', { query: 'family' })) as { chatId: string }[];
    expect(chats).toEqual([
      { chatId: 'local:family', name: 'Family', isGroup: false, lastMessageAt: '1970-01-01T00:00:00.001Z', registeredAs: 'family' },
      { chatId: 'wa:120363000000000001@g.us', name: 'Family WhatsApp', isGroup: true, lastMessageAt: null, registeredAs: null },
    ]);
    const made = await runOp(ctx(main), 'register_group', { chatId: 'wa:120363000000000001@g.us', folder: 'family-wa' });
    expect(made).toEqual({ name: 'Family WhatsApp', chatId: 'wa:120363000000000001@g.us', folder: 'family-wa', trigger: '@Andy', mode: 'agent' });
    expect(store.groupByChat('wa:120363000000000001@g.us')).toMatchObject({ channel: 'wa', isMain: false, requiresTrigger: true });
  });

  it('register_group refuses traversal folders, unknown or registered chats, taken folders, non-main callers', async () => {
    store.upsertChat({ chatId: 'wa:120363000000000009@g.us', name: 'Book club', isGroup: true });
    const refuse = (args: unknown, message: RegExp, group = main) => expect(runOp(ctx(group), 'register_group', args)).rejects.toThrow(message);
    for (const folder of ['../../etc', '/abs', 'a/b', '..', '.hidden', 'x\\y', '']) {
      await refuse({ chatId: 'wa:120363000000000009@g.us', folder }, /Invalid group folder name/);
    }
    await refuse({ chatId: 'wa:nobody@g.us', folder: 'x' }, /no chat wa:nobody@g.us is known; use list_chats/);
    await refuse({ chatId: 'local:family', folder: 'x' }, /already registered \(folder "family"\)/);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: 'main' }, /folder "main" is taken/);
    await refuse({ chatId: 42, folder: 'x' }, /bad arguments for register_group/);
    await refuse({ chatId: 'wa:120363000000000009@g.us', folder: 'books' }, /only available in the main chat/, family);
    expect(store.groupByChat('wa:120363000000000009@g.us')).toBeUndefined();
  });

  it('egress lists: each group reads its own, main changes any, others change none', async () => {
    expect(await runOp(ctx(family), 'allowed_domains', {})).toEqual({ chatId: 'local:family', allow: ['example.org'], usesDefault: true });
    await expect(runOp(ctx(family), 'allowed_domains', { chatId: 'local:owner' })).rejects.toThrow(/may only act on itself/);
    await expect(runOp(ctx(family), 'set_allowed_domains', { domains: ['evil.example'] })).rejects.toThrow(/only available in the main chat/);
    await expect(runOp(ctx(main), 'set_allowed_domains', { chatId: 'local:family', domains: ['http://x.com/'] })).rejects.toThrow(/invalid allowed domain/);
    await runOp(ctx(main), 'set_allowed_domains', { chatId: 'local:family', domains: ['*.wikipedia.org'] });
    expect(store.groupByChat('local:family')!.containerConfig).toEqual({ egress: { allow: ['*.wikipedia.org'] } });
    expect(await runOp(ctx(main), 'allowed_domains', { chatId: 'local:family' })).toEqual({ chatId: 'local:family', allow: ['*.wikipedia.org'], usesDefault: false });
  });

  it('rejects malformed arguments with a message naming the problem', async () => {
    await expect(runOp(ctx(main), 'send_message', { chatId: 'local:family' })).rejects.toThrow(/bad arguments for send_message[\s\S]*text/);
    await expect(runOp(ctx(main), 'set_allowed_domains', 'nonsense')).rejects.toThrow(/bad arguments/);
  });
});
