import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/bench/*.bench.ts are `npm run bench`, not vitest benchmarks: they start brokers and take minutes.
    benchmark: { include: [] },
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
