import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three test files at a time on two cores (vitest's default there is one): most suites spend their
    // time waiting on clamd, fsync, PostgreSQL and child processes, not on the CPU. With two at a time the
    // two cores were busy under half of a full run (27 CPU-minutes in 27.9 minutes); with three, 56 %, and it took
    // 1,378 s of vitest's time against 1,536 (7 December, the same tree). Every suite has its own data
    // directory, database and ports, so files never share state.
    maxWorkers: Math.max(3, availableParallelism()),
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/prepared-query-check.ts'],
  },
});
