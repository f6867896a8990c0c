// The contract every sandbox backend (bubblewrap, Docker, Podman, Apple Container) fulfils.
// The rest of Carapace only ever sees these types, so backends stay interchangeable.

import type { RuntimeKind } from '../config/sandbox-settings.js';

export { RUNTIME_KINDS, type RuntimeKind } from '../config/sandbox-settings.js';

/** Where the agent runner's package (dist/, node_modules/, package.json) is visible inside every sandbox. */
export const APP_MOUNT = '/app';

export interface Mount {
  /** Absolute host path (file, directory or Unix socket). */
  host: string;
  /** Absolute path inside the sandbox. */
  sandbox: string;
  readonly: boolean;
}

export interface ResourceLimits {
  memoryMb?: number;
  pids?: number;
  cpus?: number;
  /** Wall-clock cap for the whole sandbox; the backend kills it when exceeded. */
  wallClockMs?: number;
}

/**
 * Sandboxes with the same share may run in one loopback-only network namespace that the backend keeps between
 * them (an engine's per-start namespace setup is slow). `key` is unique per group; `labels` mark the holder of
 * the namespace as this install's, for orphan cleanup. Backends that set up namespaces cheaply ignore it.
 */
export interface NetworkShare {
  key: string;
  labels: Record<string, string>;
}

export type NetworkMode =
  /** No network at all: only loopback inside the sandbox. Host services arrive as mounted Unix sockets. */
  | { mode: 'none'; share?: NetworkShare };

export interface SandboxSpec {
  /** Unique name; backends use it for container names / cgroup names and orphan detection. */
  name: string;
  /** Labels identifying the owner install, group and run; `cleanupOrphans` matches on them. */
  labels: Record<string, string>;
  /**
   * Host directory holding the agent runner's package (dist/, node_modules/, package.json), read-only at
   * APP_MOUNT. bubblewrap mounts those three from here; image backends ignore it, because their agent image
   * carries the same files (built from this directory and tagged with their content hash).
   */
  appDir?: string;
  mounts: Mount[];
  /** Working directory inside the sandbox. */
  workdir: string;
  /** The complete environment; nothing from the host leaks in. */
  env: Record<string, string>;
  user: { uid: number; gid: number };
  network: NetworkMode;
  limits: ResourceLimits;
  command: string[];
}

export interface SandboxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** A resource limit the backend saw the sandbox hit (the OOM killer ran; a fork was refused at the pids cap). */
  limit?: 'memory' | 'pids';
}

export interface SandboxHandle {
  readonly name: string;
  readonly pid: number | undefined;
  /** Combined stdout/stderr of the sandboxed process, for logs. */
  readonly output: NodeJS.ReadableStream;
  readonly exited: Promise<SandboxExit>;
  /** Ask politely (SIGTERM), then force after `graceMs`. Resolves once the sandbox is gone. */
  stop(graceMs?: number): Promise<SandboxExit>;
}

export interface SandboxInfo {
  name: string;
  labels: Record<string, string>;
  pid?: number;
}

/** Which of `ResourceLimits` this backend enforces on this machine (wall-clock is enforced everywhere by a timer). */
export interface LimitsReport {
  memory: boolean;
  pids: boolean;
  cpu: boolean;
  /** e.g. "cgroup-v1", "cgroup-v2", "rlimit", "cgroup-v1+rlimit", "docker (cgroup v1)", "virtual machine", "none". */
  mechanism: string;
  note?: string;
}

export type Availability = { ok: true } | { ok: false; reason: string };

export interface SandboxRuntime {
  readonly kind: RuntimeKind;
  /** Whether this backend can run here; `reason` explains why not in words a user can act on. */
  available(): Promise<Availability>;
  limitsEnforced(): Promise<LimitsReport>;
  /** Get ready to start sandboxes: image backends build the agent image for the current code if it is missing. */
  prepare(onProgress?: (line: string) => void): Promise<void>;
  start(spec: SandboxSpec): Promise<SandboxHandle>;
  stop(name: string, graceMs?: number): Promise<void>;
  /** Sandboxes of this install (matched by label) that are running now. */
  list(labels: Record<string, string>): Promise<SandboxInfo[]>;
  /** Remove sandboxes left by a crashed orchestrator of this install. Returns how many were removed. */
  cleanupOrphans(labels: Record<string, string>): Promise<number>;
  /** Release what the backend keeps between sandboxes (shared network holders); sandboxes are stopped already. */
  close?(): Promise<void>;
}
