import { defineProject, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

export default mergeConfig(
  sharedConfig,
  defineProject({
    test: { name: 'single-tenant', include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'] },
    esbuild: { jsx: 'automatic', jsxImportSource: 'hono/jsx' },
  }),
)
