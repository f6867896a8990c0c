import { describe, expect, it } from 'vitest';
import { OpError, runOp, type OpContext, type OpHost } from '../src/host/ops.js';
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
});
