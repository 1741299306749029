import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/build-cli.ts'],
    // Hang guards only, far above any test's time on an idle machine: no test asserts wall-clock time (that is
    // bench/'s job), and a busy 2-core machine (other work, two CPU-bound processes) must not fail the suite.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // expect.poll waits for something to happen (a row to turn Synced), not for it to happen fast.
    expect: { poll: { timeout: 60_000 } },
    pool: 'forks',
    reporters: ['default'],
  },
});
