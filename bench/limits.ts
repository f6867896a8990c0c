// Speed as a ratio to the limit: absolute milliseconds differ two-fold between machines, so each Carapace figure
// is divided by the same figure for the SDK alone (bench/sdk-alone.ts), measured in the same run.
import { stats } from './stats.js';

type Stats = ReturnType<typeof stats>;
interface BackendFigures {
  hostOverhead: { warm: Stats; cold: Stats };
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export function speedRatios(
  backends: Record<string, BackendFigures>,
  sdk: { warm: Stats; cold: Stats; coldProcess: Stats; prestartedFirstTurn: Stats },
  proxyThroughput: { direct: { p50: number }; proxied: { p50: number } },
  dueToModel: Stats,
) {
  const perBackend = Object.fromEntries(
    Object.entries(backends).map(([kind, b]) => [
      kind,
      {
        warmP50: ratio(b.hostOverhead.warm.p50, sdk.warm.p50),
        coldP50: ratio(b.hostOverhead.cold.p50, sdk.cold.p50),
        // Against a fresh process per session (what a sandbox per chat implies): the sandbox's and host's own share.
        coldP50VsProcess: ratio(b.hostOverhead.cold.p50, sdk.coldProcess.p50),
      },
    ]),
  );
  return {
    sdkAlone: sdk,
    carapaceOverSdk: perBackend,
    proxyStreamThroughput: ratio(proxyThroughput.proxied.p50, proxyThroughput.direct.p50),
    // A task fed into its pre-started sandbox against the SDK's own first turn into an idle process.
    scheduledOverSdkFirstTurn: { p50: ratio(dueToModel.p50, sdk.prestartedFirstTurn.p50), p95: ratio(dueToModel.p95, sdk.prestartedFirstTurn.p95) },
    targets: 'warm ≤ 1.2× (every backend), cold bwrap ≤ 1.15×, cold docker ≤ 1.5×; proxy stream throughput ≥ 0.9× direct',
  };
}
