// Warm-message overhead of two builds side by side: this checkout and another one (say, the base commit built in a
// directory of its own), each message → model request taken in turn with a warm turn of the SDK alone, so a noisy
// moment on a shared machine falls on all three. Bubblewrap sandboxes.
//   npm run build && node dist/bench/warm-ab.js /path/to/other/checkout [messages]
import { join, resolve } from 'node:path';
import { APP_ROOT } from '../src/app-root.js';
import type { Harness } from '../test/support/harness.js';
import { messageToModel } from './message-to-model.js';
import { openSdkProbe } from './sdk-alone.js';
import { stats } from './stats.js';

const [other, count = '60'] = process.argv.slice(2);
if (!other) throw new Error('usage: warm-ab.js <other checkout, built> [messages]');
const WARM_UP = 5; // a fresh CLI process's first turns are still warming its caches

async function openBuild(root: string) {
  const { startHarness } = (await import(join(root, 'dist/test/support/harness.js'))) as typeof import('../test/support/harness.js');
  const h: Harness = await startHarness();
  await h.say('warm up');
  await h.waitForReplies(1);
  let sent = 0;
  const samples: number[] = [];
  const cpu: number[] = [];
  return {
    root,
    samples,
    cpu,
    async message() {
      const before = process.cpuUsage();
      samples.push(await messageToModel(h, () => h.say(`warm message ${++sent}`)));
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1000);
      await h.waitForReplies(sent + 1);
    },
    close: () => h.close(),
  };
}

const builds = [await openBuild(resolve(other)), await openBuild(APP_ROOT)];
// The SDK alone with Carapace's model (the fair baseline) and with the CLI's default model (the one used before).
const sdks = { sameModel: await openSdkProbe(), cliDefaultModel: await openSdkProbe({ model: null }) };
const sdkSamples: Record<string, number[]> = { sameModel: [], cliDefaultModel: [] };
for (let i = 0; i < Number(count) + WARM_UP; i++) {
  for (const [name, sdk] of Object.entries(sdks)) sdkSamples[name].push(await sdk.warm());
  for (const b of i % 2 ? [...builds].reverse() : builds) await b.message(); // neither build always goes first
}
const sdkWarm = Object.fromEntries(Object.entries(sdkSamples).map(([name, s]) => [name, stats(s.slice(WARM_UP))]));
console.log('SDK alone, warm turn (ms)', sdkWarm);
for (const b of builds) {
  const warm = stats(b.samples.slice(WARM_UP));
  const ratios = Object.entries(sdkWarm).map(([name, s]) => `${name} ${(warm.p50 / s.p50).toFixed(2)}`);
  console.log(`${b.root}: message → model request, warm (ms)`, warm, `p50 ratio to the SDK alone: ${ratios.join(', ')}`);
  // CPU time of this process (host, harness and fake API) over the same span: far less noisy than wall time.
  console.log(`${b.root}: this process's CPU time over it (ms)`, stats(b.cpu.slice(WARM_UP), 2));
}
const [a, b] = builds.map((x) => x.samples.slice(WARM_UP));
console.log('this checkout minus the other, message by message (ms)', stats(b.map((x, i) => x - a[i])));
for (const b of builds) await b.close();
for (const sdk of Object.values(sdks)) await sdk.close();
