import type { OpHost, TaskEnv } from '../../src/ops/op.js';
import type { Store } from '../../src/store/store.js';

/** What ops borrow from the host, for tests that call them directly: the store, and the given task clock. */
export const hostWith = (store: Store, tasks: TaskEnv): OpHost => ({
  registerGroup: (g) => store.registerGroup(g),
  deliver: () => undefined,
  defaultEgressAllow: [],
  tasks,
  groups: {
    mountRefusals: () => [],
    noteAccessReason: () => undefined,
    unregister: () => Promise.reject(new Error('no host to remove groups in this test')),
    settingsChanged: () => undefined,
  },
});
