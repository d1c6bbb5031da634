import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Run with: pnpm exec vitest run --config examples/vitest.config.ts (from packages/emulator).
// Outside this repository `resolve` is not needed: '@dataverse-s2s/emulator' comes from node_modules.
export default defineConfig({
  resolve: {
    alias: { '@dataverse-s2s/emulator': fileURLToPath(new URL('../src/index.ts', import.meta.url)) },
  },
  test: {
    root: import.meta.dirname,
    include: ['*.spec.ts'],
    globalSetup: ['./emulator-setup.ts'],
  },
})
