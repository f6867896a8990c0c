// The host-overhead measurement shared by the bench sections: how long from "a message arrived" to "the model
// API received the agent's request".
import type { Harness } from '../test/support/harness.js';

/** Time from "the owner sent a message" (`send`) to "the model API received the agent's request". */
export async function messageToModel(h: Harness, send: () => Promise<void> | void): Promise<number> {
  const arrived = new Promise<number>((resolve) => {
    const off = h.fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      off();
      resolve(r.receivedAt);
    });
  });
  const t0 = performance.now();
  await send();
  return (await arrived) - t0;
}
