import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real sandboxes running the real Claude Code CLI (~1 s cold each on 2 cores).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A developer's own .env (next to package.json) must not leak into tests or the commands they run.
    env: { CARAPACE_ENV_FILE: '/nonexistent/carapace-tests.env' },
  },
});
