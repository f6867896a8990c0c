// The host-overhead measurement shared by the bench sections: how long from "a message arrived" to "the model
// API received the agent's request".
import type { FakeAnthropic } from '../test/support/fake-anthropic.js';
import type { Harness } from '../test/support/harness.js';

/** When (performance.now()) the fake API receives its next main-loop request. */
export function nextMainRequest(fake: FakeAnthropic): Promise<number> {
  return new Promise((resolve) => {
    const off = fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      off();
      resolve(r.receivedAt);
    });
  });
}

/** Time from "the owner sent a message" (`send`) to "the model API received the agent's request". */
export async function messageToModel(h: Harness, send: () => Promise<void> | void): Promise<number> {
  const arrived = nextMainRequest(h.fake);
  const t0 = performance.now();
  await send();
  return (await arrived) - t0;
}
