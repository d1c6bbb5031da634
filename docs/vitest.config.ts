import { defineProject, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../vitest.shared.ts'

export default mergeConfig(
  sharedConfig,
  defineProject({
    test: {
      name: 'docs',
      include: ['test/**/*.test.ts'],
      // The browser test and the walkthrough's commands are heavy on this 2-core machine: one file at a time.
      fileParallelism: false,
    },
  }),
)
