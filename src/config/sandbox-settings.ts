// The sandbox settings configuration chooses between: which backend, and what the agent image is built from.
// They live here, below the sandbox code that acts on them.

export type RuntimeKind = 'bwrap' | 'docker' | 'podman' | 'apple';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['bwrap', 'docker', 'podman', 'apple'];

export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';

export interface ImageConfig {
  /** Debian bookworm with Node ≥ 20.12 on PATH: the public node image, or container/build-base.sh's offline one. */
  base: string;
  /** Install Chromium (and fonts) for browsing; large, so off by default. */
  chromium: boolean;
}
