import { defineConfig } from 'vitest/config'

// One run over every workspace with one summary at the end (used by `pnpm test:all`);
// `pnpm test` runs the same suites per package through turbo, which caches them.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'docs', 'bench', 'scripts'],
    maxWorkers: 2,
  },
})
