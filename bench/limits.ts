// Speed as a ratio to the limit: absolute milliseconds differ two-fold between machines, so each Carapace figure
// is divided by the same figure for the SDK alone (bench/sdk-alone.ts), sampled in turn with it in the same run.
import { stats } from './stats.js';

type Stats = ReturnType<typeof stats>;
interface BackendFigures {
  hostOverhead: { warm: Stats; cold: Stats };
  /** The SDK alone, sampled in turn with this backend's own figures. */
  sdkAlone: { warm: Stats; cold: Stats; coldProcess: Stats };
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export function speedRatios(
  backends: Record<string, BackendFigures>,
  proxyThroughput: { direct: { p50: number }; proxied: { p50: number } },
  scheduler: { dueToModelRequest: Stats; sdkAloneFirstTurnPrestarted: Stats },
) {
  const perBackend = Object.fromEntries(
    Object.entries(backends).map(([kind, { hostOverhead, sdkAlone }]) => [
      kind,
      {
        warmP50: ratio(hostOverhead.warm.p50, sdkAlone.warm.p50),
        coldP50: ratio(hostOverhead.cold.p50, sdkAlone.cold.p50),
        // Against a fresh process per session (what a sandbox per chat implies): the sandbox's and host's own share.
        coldP50VsProcess: ratio(hostOverhead.cold.p50, sdkAlone.coldProcess.p50),
      },
    ]),
  );
  const { dueToModelRequest: due, sdkAloneFirstTurnPrestarted: first } = scheduler;
  return {
    carapaceOverSdk: perBackend,
    proxyStreamThroughput: ratio(proxyThroughput.proxied.p50, proxyThroughput.direct.p50),
    // A task fed into its pre-started sandbox against the SDK's own first turn into an idle process.
    scheduledOverSdkFirstTurn: { p50: ratio(due.p50, first.p50), p95: ratio(due.p95, first.p95) },
    targets: 'warm ≤ 1.2× (every backend), cold bwrap ≤ 1.15×, cold docker ≤ 1.5×; proxy stream throughput ≥ 0.9× direct',
  };
}
