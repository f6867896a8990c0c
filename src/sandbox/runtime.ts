// The contract every sandbox backend (bubblewrap today; Docker, Podman, Apple Container next) fulfils.
// The rest of Carapace only ever sees these types, so backends stay interchangeable.

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

export type NetworkMode =
  /** No network at all: only loopback inside the sandbox. Host services arrive as mounted Unix sockets. */
  | { mode: 'none' };

export interface SandboxSpec {
  /** Unique name; backends use it for container names / cgroup names and orphan detection. */
  name: string;
  /** Labels identifying the owner install, group and run; `cleanupOrphans` matches on them. */
  labels: Record<string, string>;
  /** Container image (Docker-like backends). bubblewrap uses the host's read-only system directories. */
  image?: string;
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

export interface SandboxRuntime {
  readonly kind: string;
  /** Whether this backend can run here; `reason` explains why not in words a user can act on. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  start(spec: SandboxSpec): Promise<SandboxHandle>;
  stop(name: string, graceMs?: number): Promise<void>;
  /** Sandboxes of this install (matched by label) that are running now. */
  list(labels: Record<string, string>): Promise<SandboxInfo[]>;
  /** Remove sandboxes left by a crashed orchestrator of this install. Returns how many were removed. */
  cleanupOrphans(labels: Record<string, string>): Promise<number>;
}
