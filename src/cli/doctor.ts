// `carapace doctor`: which sandbox backends work here, which one Carapace will use, which limits each enforces,
// whether the agent image is built, and how to install what is missing on this OS.
import os from 'node:os';
import { APP_ROOT } from '../app-root.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { agentImageInputs } from '../sandbox/image.js';
import { hostOs } from '../sandbox/install-hints.js';
import { RUNTIME_KINDS, type LimitsReport, type RuntimeKind } from '../sandbox/runtime.js';
import { autoOrder, createRuntime, probeRuntimes, usesImage, type Probed } from '../sandbox/select.js';

const mark = (ok: boolean) => (ok ? '✔' : '✘');

export function describeLimits(l: LimitsReport): string {
  const parts = [`memory ${mark(l.memory)}`, `pids ${mark(l.pids)}`, `cpu ${mark(l.cpu)}`, 'wall clock ✔'];
  return `limits: ${parts.join('  ')}  (${l.mechanism}${l.note ? `; ${l.note}` : ''})`;
}

async function imageStatus(p: Probed, config: Config): Promise<string> {
  if (!usesImage(p.runtime)) return 'image: none needed (runs the host’s read-only system files)';
  let tag: string;
  try {
    tag = agentImageInputs(APP_ROOT, config.image).tag;
  } catch (err) {
    return `image: cannot tell (${(err as Error).message})`;
  }
  return (await p.runtime.imageExists(tag))
    ? `image: ${tag} is built`
    : `image: ${tag} not built yet — \`carapace image build\` (or the first start) builds it from ${config.image.base}`;
}

/** The report, and whether the configured backend can run. `make` is for tests. */
export async function doctor(config: Config, make = createRuntime, platform: string = process.platform): Promise<{ text: string; ok: boolean }> {
  const order = autoOrder(platform);
  const kinds: RuntimeKind[] = [...order, ...RUNTIME_KINDS.filter((k) => !order.includes(k))];
  const probed = await probeRuntimes(kinds, { stateDir: dataPaths(config.dataDir).sandboxState, image: config.image }, make);
  const chosen =
    config.runtime === 'auto'
      ? probed.find((p) => order.includes(p.runtime.kind) && p.availability.ok)
      : probed.find((p) => p.runtime.kind === config.runtime);

  const user = process.getuid?.() === 0 ? `root (sandboxes run as uid ${config.sandbox.uid})` : `uid ${process.getuid?.()}`;
  const lines = [
    `Carapace doctor — ${platform} ${os.arch()} (${hostOs(platform)}), Node ${process.version}, running as ${user}`,
    '',
    `Sandbox backends (CARAPACE_RUNTIME=${config.runtime}; auto tries ${order.join(', ')}):`,
  ];
  for (const p of probed) {
    const pick = p === chosen ? '   ← used' : '';
    if (!p.availability.ok) {
      lines.push(`  ${mark(false)} ${p.runtime.kind.padEnd(6)} ${p.availability.reason}${pick}`);
      continue;
    }
    lines.push(`  ${mark(true)} ${p.runtime.kind.padEnd(6)} works${pick}`);
    lines.push(`           ${describeLimits(await p.runtime.limitsEnforced())}`);
    lines.push(`           ${await imageStatus(p, config)}`);
  }
  for (const v of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'CONTAINER_HOST'])
    if (process.env[v]) lines.push(`${v}=${process.env[v]}: the engine must see this machine's paths (sandboxes bind-mount them).`);
  const ok = !!chosen?.availability.ok;
  lines.push(
    '',
    ok
      ? `Carapace will run agents with ${chosen!.runtime.kind}. Defaults per sandbox: ${config.sandbox.memoryMb} MB, ${config.sandbox.pids} pids, ${config.sandbox.cpus} CPUs, ${Math.round(config.runTimeoutMs / 60_000)} min (a group's container_config {"limits": …} overrides them).`
      : config.runtime === 'auto'
        ? 'No backend works here: install one of the above (see the hints), then run `carapace doctor` again.'
        : `CARAPACE_RUNTIME=${config.runtime} cannot run here; fix it as hinted above or set CARAPACE_RUNTIME=auto.`,
  );
  return { text: lines.join('\n'), ok };
}
