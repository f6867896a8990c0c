// The limits and the architecture that `npm run check:structure` enforces, kept as data so that changing a
// rule is a one-line edit here and never a change to the checker's logic.

/** Folders scanned, relative to the repository root. Test files (test/*.test.ts) are not scanned at all. */
export const ROOTS = ['src', 'bench', 'scripts', 'test/support'];

/** Size limits apply here; test/support is exempt (fixture builders and fakes may be long). */
export const SIZE_LIMITED = ['src/', 'bench/', 'scripts/'];
export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 60;

/** A function body counts as a copy of another only from this size on, so one-liners that look alike do not. */
export const COPY_MIN_LINES = 6;
export const COPY_MIN_STATEMENTS = 3;

/**
 * Layers from low to high (the helper brief's list): a module may import from its own layer or lower ones.
 * The most specific (longest) matching prefix wins, so `src/channels/channel.ts` is 3 while the rest of
 * `src/channels/` is 6. bench/, scripts/ and test/ sit on top: they may use anything, nothing in src may use them.
 * Every import counts, `import type` and dynamic `import()` included: a type-only arrow still couples the
 * lower module's meaning to the higher one, and a cycle through types is a cycle in the design.
 */
export const LAYERS: Record<string, number> = {
  'src/log.ts': 1,
  'src/app-root.ts': 1,
  'src/time.ts': 1,
  'src/backoff.ts': 1,
  'src/secret-compare.ts': 1,
  'src/fs/': 1,
  'src/config.ts': 2,
  'src/config/': 2,
  'src/ipc/': 3,
  'src/store/': 3,
  'src/queue/': 3,
  'src/sandbox/': 3,
  'src/tasks/': 3,
  'src/router/': 3,
  'src/memory/': 3,
  'src/markdown/': 3,
  'src/channels/channel.ts': 3,
  // The runner is a separate program (it runs inside the sandbox); RUNNER_ONLY below says what it may use.
  'src/runner/': 3,
  'src/boundary/': 4,
  'src/groups/': 4,
  'src/ops/': 4,
  'src/core/': 5,
  'src/channels/': 6,
  'src/cli/': 7,
  'src/app.ts': 7,
  'bench/': 8,
  'scripts/': 8,
  'test/': 8,
};

/** The runner and everything it reaches may import only from these folders (and libraries): the protocol, safe
 * file handling, and memory (it archives transcripts itself when the SDK compacts). */
export const RUNNER = 'src/runner/';
export const RUNNER_ONLY = ['src/runner/', 'src/ipc/', 'src/fs/', 'src/memory/'];

/** The layer of a repository-relative path, or undefined when no prefix matches (itself a problem). */
export function layerOf(path: string): number | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(LAYERS)) {
    const matches = prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix;
    if (matches && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? undefined : LAYERS[best];
}

/** An idea that must live in one src module only, found by the name the code has to use for it. */
export interface OnePlace {
  /** An identifier (`O_NOFOLLOW`) or a dotted property access (`Intl.DateTimeFormat`). */
  name: string;
  why: string;
}

/** Kept short on purpose: each entry is an idea that was written twice before and must not be again. */
export const ONE_PLACE: OnePlace[] = [
  { name: 'timingSafeEqual', why: 'secret comparison in constant time' },
  { name: 'Intl.DateTimeFormat', why: 'time-zone math (src/time.ts)' },
  { name: 'O_NOFOLLOW', why: 'opening files in agent-writable trees without following links (src/fs/)' },
];
