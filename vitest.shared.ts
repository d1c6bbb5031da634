import { defineConfig } from 'vitest/config'

// Tests read each workspace package's TypeScript source through this export condition, so no build is needed first.
// No `module` condition: vitest hands these conditions to Node too, and a `module` build is for bundlers
// (@opentelemetry/api's has extensionless imports that Node cannot load).
const conditions = ['@dataverse-s2s/source', 'node', 'import', 'default']

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@dataverse-s2s/source', 'node'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
