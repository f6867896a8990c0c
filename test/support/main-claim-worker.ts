// A worker thread that claims the main chat on its own database connection, released together with the other
// workers by a shared barrier so the claims really race. Runs compiled (dist/test/support), like a second process would.
import { parentPort } from 'node:worker_threads';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import type { ChatInfo } from '../../src/store/types.js';

export interface ClaimRequest {
  file: string;
  chat: ChatInfo;
  /** Int32 counter: every worker adds one, then all go once it reaches `racers`. */
  barrier: SharedArrayBuffer;
  racers: number;
}

function waitForAll(barrier: Int32Array, racers: number): void {
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  for (let seen = Atomics.load(barrier, 0); seen < racers; seen = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, seen);
}

parentPort!.on('message', (req: ClaimRequest) => {
  const db = openDatabase(req.file);
  try {
    waitForAll(new Int32Array(req.barrier), req.racers);
    const move = new Store(db).moveMain(req.chat, { trigger: '@Andy', fallbackFolder: (chatId) => (chatId.startsWith('local:') ? 'local' : undefined) });
    parentPort!.postMessage({ move });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  } finally {
    db.close();
  }
});
