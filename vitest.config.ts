import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Chaos runs are long and started on their own (npm run chaos).
    exclude: ['**/node_modules/**', 'test/chaos/**'],
    // Temporal workers load native code; separate processes keep it isolated per test file.
    pool: 'forks',
    // One Temporal dev server for the whole run (or the one TEMPORAL_ADDRESS names).
    globalSetup: ['test/global-setup.ts'],
    // Real servers and workflow bundling are slow on a cold machine; these are ceilings, not expectations.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
