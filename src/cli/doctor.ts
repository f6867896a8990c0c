// `carapace doctor`: which sandbox backends work here, which one Carapace will use, which limits each enforces,
// whether the agent image is built, and how to install what is missing on this OS.
import os from 'node:os';
import { APP_ROOT } from '../app-root.js';
import type { Config } from '../config.js';
import { dataPaths } from '../fs/paths.js';
import { agentImageInputs } from '../sandbox/image.js';
import { hostOs } from '../sandbox/install-hints.js';
import { RUNTIME_KINDS, type LimitsReport, type RuntimeKind } from '../sandbox/runtime.js';
import { PrepareMemory, type PrepareFailure } from '../sandbox/prepare-memory.js';
import { autoOrder, createRuntime, probeRuntimes, usesImage, type Probed } from '../sandbox/select.js';

/** The agent image of an image backend: its tag and whether it is built, or why that cannot be told. */
export type ImageState = { needed: false } | { needed: true; tag: string; built: boolean } | { needed: true; error: string };

export interface BackendReport {
  kind: RuntimeKind;
  works: boolean;
  /** Why it does not work, with the hint to install it. */
  reason?: string;
  used: boolean;
  limits?: LimitsReport;
  image?: ImageState;
  /** It works, but could not be prepared last time: `auto` skips it until `carapace image build` succeeds. */
  prepareFailure?: PrepareFailure;
}

export interface DoctorReport {
  platform: string;
  arch: string;
  os: string;
  node: string;
  uid: number | undefined;
  runtimeSetting: Config['runtime'];
  autoOrder: RuntimeKind[];
  backends: BackendReport[];
  /** Engine variables that point elsewhere: the engine must see this machine's paths. */
  engineEnv: Record<string, string>;
  /** The backend Carapace will use; null when the configured one cannot run. */
  chosen: RuntimeKind | null;
}

const mark = (ok: boolean) => (ok ? '✔' : '✘');

export function describeLimits(l: LimitsReport): string {
  const parts = [`memory ${mark(l.memory)}`, `pids ${mark(l.pids)}`, `cpu ${mark(l.cpu)}`, 'wall clock ✔'];
  return `limits: ${parts.join('  ')}  (${l.mechanism}${l.note ? `; ${l.note}` : ''})`;
}

async function imageState(p: Probed, config: Config): Promise<ImageState> {
  if (!usesImage(p.runtime)) return { needed: false };
  try {
    const { tag } = agentImageInputs(APP_ROOT, config.image);
    return { needed: true, tag, built: await p.runtime.imageExists(tag) };
  } catch (err) {
    return { needed: true, error: (err as Error).message };
  }
}

async function backendReport(p: Probed, used: boolean, config: Config, failure?: PrepareFailure): Promise<BackendReport> {
  if (!p.availability.ok) return { kind: p.runtime.kind, works: false, reason: p.availability.reason, used };
  const report: BackendReport = { kind: p.runtime.kind, works: true, used, limits: await p.runtime.limitsEnforced(), image: await imageState(p, config) };
  return failure ? { ...report, prepareFailure: failure } : report;
}

/** Probe every backend. `make` and `platform` are for tests. */
export async function doctorReport(config: Config, make = createRuntime, platform: string = process.platform): Promise<DoctorReport> {
  const order = autoOrder(platform);
  const kinds: RuntimeKind[] = [...order, ...RUNTIME_KINDS.filter((k) => !order.includes(k))];
  const stateDir = dataPaths(config.dataDir).sandboxState;
  const probed = await probeRuntimes(kinds, { stateDir, image: config.image }, make);
  const memory = new PrepareMemory(stateDir, config.image);
  const chosen =
    config.runtime === 'auto'
      ? probed.find((p) => order.includes(p.runtime.kind) && p.availability.ok && !memory.failure(p.runtime.kind))
      : probed.find((p) => p.runtime.kind === config.runtime);
  const backends: BackendReport[] = [];
  for (const p of probed) backends.push(await backendReport(p, p === chosen, config, memory.failure(p.runtime.kind)));
  const engineEnv: Record<string, string> = {};
  for (const v of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'CONTAINER_HOST']) if (process.env[v]) engineEnv[v] = process.env[v]!;
  return {
    platform,
    arch: os.arch(),
    os: hostOs(platform),
    node: process.version,
    uid: process.getuid?.(),
    runtimeSetting: config.runtime,
    autoOrder: order,
    backends,
    engineEnv,
    chosen: chosen?.availability.ok ? chosen.runtime.kind : null,
  };
}

function describeImage(image: ImageState, config: Config): string {
  if (!image.needed) return 'image: none needed (runs the host’s read-only system files)';
  if ('error' in image) return `image: cannot tell (${image.error})`;
  return image.built
    ? `image: ${image.tag} is built`
    : `image: ${image.tag} not built yet — \`carapace image build\` (or the first start) builds it from ${config.image.base}`;
}

function verdict(r: DoctorReport, config: Config): string {
  if (r.chosen) {
    const s = config.sandbox;
    return `Carapace will run agents with ${r.chosen}. Defaults per sandbox: ${s.memoryMb} MB, ${s.pids} pids, ${s.cpus} CPUs, ${Math.round(config.runTimeoutMs / 60_000)} min (a group's container_config {"limits": …} overrides them).`;
  }
  return r.runtimeSetting === 'auto'
    ? 'No backend works here: install one of the above (see the hints), then run `carapace doctor` again.'
    : `CARAPACE_RUNTIME=${r.runtimeSetting} cannot run here; fix it as hinted above or set CARAPACE_RUNTIME=auto.`;
}

export function renderDoctor(r: DoctorReport, config: Config): string {
  const user = r.uid === 0 ? `root (sandboxes run as uid ${config.sandbox.uid})` : `uid ${r.uid}`;
  const lines = [
    `Carapace doctor — ${r.platform} ${r.arch} (${r.os}), Node ${r.node}, running as ${user}`,
    '',
    `Sandbox backends (CARAPACE_RUNTIME=${r.runtimeSetting}; auto tries ${r.autoOrder.join(', ')}):`,
  ];
  for (const b of r.backends) {
    const pick = b.used ? '   ← used' : '';
    if (!b.works) {
      lines.push(`  ${mark(false)} ${b.kind.padEnd(6)} ${b.reason}${pick}`);
      continue;
    }
    lines.push(`  ${mark(true)} ${b.kind.padEnd(6)} works${pick}`);
    lines.push(`           ${describeLimits(b.limits!)}`);
    lines.push(`           ${describeImage(b.image!, config)}`);
    if (b.prepareFailure)
      lines.push(`           could not be prepared on ${b.prepareFailure.at}: ${b.prepareFailure.reason}\n           (auto skips it; \`carapace image build\` tries again)`);
  }
  for (const [v, value] of Object.entries(r.engineEnv))
    lines.push(`${v}=${value}: the engine must see this machine's paths (sandboxes bind-mount them).`);
  lines.push('', verdict(r, config));
  return lines.join('\n');
}

/** The report as text, and whether the configured backend can run. `make` is for tests. */
export async function doctor(config: Config, make = createRuntime, platform: string = process.platform): Promise<{ text: string; ok: boolean }> {
  const report = await doctorReport(config, make, platform);
  return { text: renderDoctor(report, config), ok: report.chosen !== null };
}
