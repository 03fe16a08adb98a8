import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Separate processes: each test file's clusters, exit hooks and
    // process.env changes stay its own.
    pool: 'forks',
    fileParallelism: true,
    // Two cores here; every worker runs PostgreSQL servers besides itself.
    maxWorkers: 2,
    // Real clusters: initdb, restarts, backups and restores take seconds.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Stopping a stray cluster in teardown may take a while.
    teardownTimeout: 60_000,
    globalSetup: ['test/harness/global-setup.ts'],
  },
});
