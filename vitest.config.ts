import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time even on two cores (vitest's default there is one): most suites spend
    // their time waiting on clamd, fsync, PostgreSQL and child processes, not on the CPU. Every suite
    // has its own data directory, database and ports, so files never share state.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/prepared-query-check.ts'],
  },
});
