import { startEmulator } from '@dataverse-s2s/emulator'
import type { TestProject } from 'vitest/node'

export default async function setup(project: TestProject) {
  const emulator = await startEmulator({ port: 0 })
  project.provide('emulator', emulator.toJSON())
  // Test workers are other processes: give them the CA through NODE_EXTRA_CA_CERTS before they start.
  process.env.NODE_EXTRA_CA_CERTS = emulator.trust.caBundlePath
  return () => emulator.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    emulator: import('@dataverse-s2s/emulator').EmulatorInfo
  }
}
