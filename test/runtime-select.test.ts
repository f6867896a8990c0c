// Choosing a backend (CARAPACE_RUNTIME, auto), `carapace doctor`, and per-group limits from container_config.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctor } from '../src/cli/doctor.js';
import { loadConfig } from '../src/config.js';
import { sandboxLimits } from '../src/groups/container-config.js';
import { validateContainerConfig } from '../src/groups/group-config.js';
import { hostOs, installHint } from '../src/sandbox/install-hints.js';
import type { Availability, LimitsReport, RuntimeKind, SandboxRuntime } from '../src/sandbox/runtime.js';
import { autoOrder, selectRuntime } from '../src/sandbox/select.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'carapace.js');
const config = (env: Record<string, string> = {}) =>
  loadConfig({ CARAPACE_DATA_DIR: mkdtempSync(join(tmpdir(), 'carapace-sel-')), ...env }, { requireCredentials: false });

/** Backends that only answer the questions selection and doctor ask. */
function fakes(working: Partial<Record<RuntimeKind, LimitsReport>>) {
  return (kind: RuntimeKind) =>
    ({
      kind,
      available: async (): Promise<Availability> => (working[kind] ? { ok: true } : { ok: false, reason: `${kind} is missing here` }),
      limitsEnforced: async () => working[kind]!,
      imageExists: async () => false,
      prepare: async () => {
        prepared.push(kind);
        if (unpreparable.includes(kind)) throw new Error(`cannot pull the base image for ${kind}`);
      },
    }) as unknown as SandboxRuntime;
}
let unpreparable: RuntimeKind[] = [];
let prepared: RuntimeKind[] = [];
const full: LimitsReport = { memory: true, pids: true, cpu: true, mechanism: 'cgroup-v2' };

describe('runtime selection', () => {
  const opts = (base = 'b') => ({ stateDir: mkdtempSync(join(tmpdir(), 'carapace-sel-state-')), image: { base, chromium: false } });

  it('auto prefers what needs no image, then the engines: Linux bwrap > docker > podman, macOS apple > docker > podman', async () => {
    expect(autoOrder('linux')).toEqual(['bwrap', 'docker', 'podman']);
    expect(autoOrder('darwin')).toEqual(['apple', 'docker', 'podman']);
    expect((await selectRuntime('auto', opts(), fakes({ bwrap: full, docker: full }), 'linux')).kind).toBe('bwrap');
    expect((await selectRuntime('auto', opts(), fakes({ podman: full }), 'linux')).kind).toBe('podman');
    expect((await selectRuntime('auto', opts(), fakes({ docker: full, apple: full }), 'darwin')).kind).toBe('apple');
  });

  it('auto moves on when an installed engine cannot build its image, and remembers it; a named backend fails with the reason', async () => {
    const state = opts();
    unpreparable = ['docker'];
    try {
      const lines: string[] = [];
      const chosen = await selectRuntime('auto', state, fakes({ docker: full, podman: full }), 'linux', (l) => lines.push(l));
      expect(chosen.kind).toBe('podman');
      expect(lines).toEqual(['docker could not be prepared; trying the next backend (it is skipped from now on)']);
      // The next start does not try docker again …
      prepared = [];
      lines.length = 0;
      expect((await selectRuntime('auto', state, fakes({ docker: full, podman: full }), 'linux', (l) => lines.push(l))).kind).toBe('podman');
      expect(prepared).toEqual(['podman']);
      expect(lines).toEqual([expect.stringMatching(/^docker skipped: it could not be prepared on \d{4}-.*\(cannot pull the base image for docker\); `carapace image build` tries again$/)]);
      // … until the image settings change.
      prepared = [];
      await selectRuntime('auto', { ...state, image: { base: 'other', chromium: false } }, fakes({ docker: full, podman: full }), 'linux');
      expect(prepared).toEqual(['docker', 'podman']);
      await expect(selectRuntime('docker', state, fakes({ docker: full, bwrap: full }), 'linux')).rejects.toThrow(
        /CARAPACE_RUNTIME=docker, but it cannot run here:\n  docker: could not prepare it: cannot pull the base image for docker\n.*CARAPACE_RUNTIME=bwrap/,
      );
    } finally {
      unpreparable = [];
    }
  });

  it('explains what failed when nothing (or the named backend) works', async () => {
    await expect(selectRuntime('auto', opts(), fakes({}), 'linux')).rejects.toThrow(
      /No sandbox backend works on this machine \(tried bwrap, docker, podman\):\n  bwrap: bwrap is missing here\n[\s\S]*carapace doctor/,
    );
    await expect(selectRuntime('podman', opts(), fakes({ docker: full }), 'linux')).rejects.toThrow(/CARAPACE_RUNTIME=podman, but it cannot run here:\n  podman: podman is missing here/);
  });

  it('CARAPACE_RUNTIME and CARAPACE_IMAGE_CHROMIUM are validated', () => {
    expect(config().runtime).toBe('auto');
    expect(config({ CARAPACE_RUNTIME: 'podman' }).runtime).toBe('podman');
    expect(() => config({ CARAPACE_RUNTIME: 'lxc' })).toThrow(/CARAPACE_RUNTIME must be one of auto, bwrap, docker, podman, apple; got "lxc"/);
    expect(() => config({ CARAPACE_IMAGE_CHROMIUM: 'yes' })).toThrow(/CARAPACE_IMAGE_CHROMIUM must be 0 or 1/);
    expect(config({ CARAPACE_BASE_IMAGE: 'carapace-base:bookworm' }).image).toEqual({ base: 'carapace-base:bookworm', chromium: false });
  });
});

describe('install hints', () => {
  it('name the package manager of the host OS', () => {
    expect(hostOs('linux', 'ID=ubuntu\nID_LIKE=debian\n')).toBe('debian');
    expect(hostOs('linux', 'ID="fedora"\n')).toBe('fedora');
    expect(hostOs('linux', 'ID=arch\n')).toBe('arch');
    expect(hostOs('darwin')).toBe('macos');
    expect(installHint('bwrap', 'fedora')).toContain('dnf install bubblewrap');
    expect(installHint('docker', 'debian')).toContain('apt-get install docker.io');
    expect(installHint('podman', 'macos')).toContain('podman machine init');
    expect(installHint('apple', 'macos')).toContain('container system start');
    expect(installHint('bwrap', 'macos')).toMatch(/Linux-only/);
  });
});

describe('carapace doctor', () => {
  it('lists every backend, marks the one auto uses, its limits and image state, and the hints for the rest', async () => {
    const report = await doctor(config(), fakes({ podman: { ...full, pids: false, note: 'rootless' }, bwrap: full }), 'linux');
    expect(report.ok).toBe(true);
    const lines = report.text.split('\n');
    expect(lines.find((l) => l.includes('✘ docker'))).toMatch(/✘ docker +docker is missing here$/);
    expect(lines.find((l) => l.includes('✔ podman'))).toMatch(/works$/);
    expect(lines.find((l) => l.includes('✔ bwrap'))).toMatch(/works {3}← used$/);
    expect(report.text).toContain('limits: memory ✔  pids ✘  cpu ✔  wall clock ✔  (cgroup-v2; rootless)');
    expect(report.text).toMatch(/image: carapace-agent:[0-9a-f]{16} not built yet/);
    expect(report.text).toContain('image: none needed');
    expect(report.text).toMatch(/Carapace will run agents with bwrap\. Defaults per sandbox: 2048 MB, 512 pids, 2 CPUs, 60 min/);
  });

  it('fails when the configured backend cannot run', async () => {
    const report = await doctor(config({ CARAPACE_RUNTIME: 'apple' }), fakes({ bwrap: full }), 'linux');
    expect(report.ok).toBe(false);
    expect(report.text).toMatch(/✘ apple +apple is missing here {3}← used/);
    expect(report.text).toContain('CARAPACE_RUNTIME=apple cannot run here');
  });

  it('runs for real as `carapace doctor`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carapace-doctor-'));
    const r = spawnSync(process.execPath, [BIN, 'doctor'], {
      env: { ...process.env, CARAPACE_RUNTIME: 'bwrap', CARAPACE_DATA_DIR: dir },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/✔ bwrap +works {3}← used\n +limits: memory [✔✘] +pids [✔✘]/);
    expect(r.stdout).toMatch(/apple +Apple Container runs only on macOS 26\+/);
  });
});

describe('per-group limits (container_config)', () => {
  const c = config({ CARAPACE_SANDBOX_MEMORY_MB: '1024' });
  it('default to the install settings, and a group overrides any of them', () => {
    expect(sandboxLimits(c, { name: 'A', containerConfig: {} })).toEqual({ memoryMb: 1024, pids: 512, cpus: 2, wallClockMs: 3_600_000 });
    expect(sandboxLimits(c, { name: 'A', containerConfig: { limits: { cpus: 0.5, timeoutMs: 60_000 }, mounts: ['kept for others'] } })).toEqual({
      memoryMb: 1024, pids: 512, cpus: 0.5, wallClockMs: 60_000,
    });
  });

  it('refuse bad values with the group, the field and what is allowed', () => {
    expect(() => validateContainerConfig({ limits: { memoryMb: 10 } }, 'Family')).toThrow(/container_config of group "Family" is invalid: limits\.memoryMb: .*\. Allowed: .*memoryMb ≥ 64/);
    expect(() => validateContainerConfig({ limits: { ram: 5 } }, 'Family')).toThrow(/Unrecognized key.*"ram"/);
    expect(() => validateContainerConfig({ limits: 'lots' }, 'Family')).toThrow(/invalid/);
  });
});
