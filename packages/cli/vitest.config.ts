import { defineProject, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// Every test runs the real binary as child processes (each one loads the toolkit through tsx): slow on a busy machine.
export default mergeConfig(
  sharedConfig,
  defineProject({ test: { name: '@dataverse-s2s/cli', testTimeout: 120_000, hookTimeout: 120_000 } }),
)
