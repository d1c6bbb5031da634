import { startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import { searchAccounts, searchBox } from '../snippets/search.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

// The Dataverse search guide's snippets (guides/search.md), run against the emulator.
let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
  await client.create('accounts', { name: 'Vexillum Pharmaceuticals', address1_city: 'Redmond' })
  await client.create('accounts', { name: 'Vexillum Traders' })
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('search snippets', () => {
  it('searches accounts with highlights and a count', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const { hits, count } = await searchAccounts(client, 'vexillum')
    log.mockRestore()
    expect(count).toBe(2)
    expect(hits.map((h) => h.attributes.name).sort()).toEqual([
      'Vexillum Pharmaceuticals',
      'Vexillum Traders',
    ])
    expect(hits.find((h) => h.attributes.address1_city === 'Redmond')?.highlights.name).toEqual([
      '{crmhit}Vexillum{/crmhit} Pharmaceuticals',
    ])
  })

  it('completes and suggests for a search box', async () => {
    const { completion, items } = await searchBox(client, 'vexil')
    expect(completion).toBe('{crmhit}vexillum{/crmhit}')
    expect(items.map((i) => i.label).sort()).toEqual([
      '<b>Vexil</b>lum Pharmaceuticals',
      '<b>Vexil</b>lum Traders',
    ])
    expect(items.every((i) => i.table === 'account')).toBe(true)
  })
})
