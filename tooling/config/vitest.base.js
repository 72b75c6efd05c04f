// Shared vitest settings for cutrec packages: node environment, one worker per core at most,
// long timeouts for GPU tests on software Vulkan (lavapipe is slow but correct).
/** @param {Record<string, unknown>} [overrides] */
export function cutrecVitest(overrides = {}) {
  return {
    test: {
      environment: 'node',
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      reporters: ['default'],
      ...overrides,
    },
  };
}
