import { configDefaults, defineConfig } from 'vitest/config'

// Tests read each workspace package's TypeScript source through this export condition, so no build is needed first.
// No `module` condition: vitest hands these conditions to Node too, and a `module` build is for bundlers
// (@opentelemetry/api's has extensionless imports that Node cannot load).
// Nor `import`: Vite adds import/require by itself, while Node given `--conditions import` resolves a require() to a
// package's ESM build (pg's require('pg-pool') then gets a module namespace instead of the class).
const conditions = ['@dataverse-s2s/source', 'node', 'import', 'default']
const nodeConditions = ['@dataverse-s2s/source', 'node']

// Under mutation testing (scripts/mutation/shared.mjs sets this) the load tests stay out: each would run for every
// mutant of the code it passes through (webapi's 10,000 faulted upserts take 20 s apiece), so the focused tests have
// to kill those mutants on their own.
const mutation = process.env.DATAVERSE_S2S_MUTATION === '1'
const loadTests = ['test/faults.test.ts']

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: nodeConditions } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: mutation ? [...configDefaults.exclude, ...loadTests] : configDefaults.exclude,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
