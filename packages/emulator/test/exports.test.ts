import { describe, expect, it } from 'vitest'
import * as emulator from '../src/index.ts'

// The type signatures are pinned by API Extractor's report (emulator.api.md, checked by `pnpm check:package`).
describe('the public surface of @dataverse-s2s/emulator', () => {
  it('exports these values, and no class but its error', () => {
    expect(Object.keys(emulator).sort()).toEqual([
      'EmulatorError',
      'createTrustingAgent',
      'createWorld',
      'defaultIds',
      'defaultSeed',
      'isEmulatorCaTrusted',
      'runEmulatorMain',
      'sampleRedirectUris',
      'startEmulator',
      'trustEmulatorCa',
      'trustEmulatorGlobally',
      'untrustEmulatorCa',
    ])
  })
})
