import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as emulator from '../src/index.ts'
import { apiReport, entryOf } from './api-report.ts'

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

  // Update with `vitest run -u test/exports.test.ts` when the change is intended; review the diff of exports.api.txt.
  it('keeps the names and type signatures in exports.api.txt', async () => {
    const report = apiReport(entryOf(fileURLToPath(new URL('.', import.meta.url))))
    expect(report).toMatch(/^interface World$/m)
    await expect(report).toMatchFileSnapshot('./exports.api.txt')
  }, 120_000)
})
