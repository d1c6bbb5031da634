import { defineProject, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

export default mergeConfig(
  sharedConfig,
  defineProject({
    test: { name: 'multi-tenant', testTimeout: 60_000, hookTimeout: 180_000, fileParallelism: false },
  }),
)
