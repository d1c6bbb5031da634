import { defineConfig } from 'vitest/config'

// Tests read each workspace package's TypeScript source through this export condition, so no build is needed first.
// No `module` condition: vitest hands these conditions to Node too, and a `module` build is for bundlers
// (@opentelemetry/api's has extensionless imports that Node cannot load).
// Nor `import`: Vite adds import/require by itself, while Node given `--conditions import` resolves a require() to a
// package's ESM build (pg's require('pg-pool') then gets a module namespace instead of the class).
const conditions = ['@dataverse-s2s/source', 'node', 'import', 'default']
const nodeConditions = ['@dataverse-s2s/source', 'node']

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: nodeConditions } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
