import { describe, expect, it } from 'vitest';
import { authorizeTarget, OpError, runOp, type OpContext, type OpHost } from '../src/host/ops.js';
import { openDatabase } from '../src/store/db.js';
import { Store, type Group } from '../src/store/store.js';

describe('agent requests', () => {
  const store = new Store(openDatabase(':memory:'));
  const main = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'Owner', folder: 'main', trigger: '@Andy', requiresTrigger: false, isMain: true });
  const family = store.registerGroup({ channel: 'local', chatId: 'local:family', name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  const host: OpHost = { registerGroup: (g) => store.registerGroup(g), deliver: () => undefined, defaultEgressAllow: ['example.org'] };
  const ctx = (group: Group, seq = 1): OpContext => ({ group, runId: 'r', seq, store, host });

  it('main may list every group', async () => {
    const groups = (await runOp(ctx(main), 'list_groups', {})) as { folder: string }[];
    expect(groups.map((g) => g.folder)).toEqual(['main', 'family']);
  });

  it('another group may not, whatever its request says', async () => {
    await expect(runOp(ctx(family), 'list_groups', { asMain: true })).rejects.toThrow(
      new OpError('list_groups is only available in the main chat'),
    );
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

  it('main registers a group; traversal and path-like folder names are refused, and nothing is created', async () => {
    for (const folder of ['../../etc', '/abs', 'a/b', '..', '.hidden', 'x\\y', '']) {
      await expect(runOp(ctx(main), 'register_group', { chatId: 'local:evil', name: 'Evil', folder })).rejects.toThrow(/Invalid group folder name/);
    }
    expect(store.groupByChat('local:evil')).toBeUndefined();
    await expect(runOp(ctx(family), 'register_group', { chatId: 'local:x', name: 'X', folder: 'x' })).rejects.toThrow(/only available in the main chat/);
    expect(await runOp(ctx(main), 'register_group', { chatId: 'local:club', name: 'Club', folder: 'club' })).toEqual({ chatId: 'local:club', folder: 'club' });
    const club = store.groupByChat('local:club')!;
    expect([club.isMain, club.requiresTrigger, club.trigger]).toEqual([false, true, '@Andy']);
    await expect(runOp(ctx(main), 'register_group', { chatId: 'local:club2', name: 'C', folder: 'club' })).rejects.toThrow(/folder club is already in use/);
    await expect(runOp(ctx(main), 'register_group', { chatId: 'local:club', name: 'C', folder: 'club3' })).rejects.toThrow(/already registered/);
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
