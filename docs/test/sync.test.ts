import { startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import { type SyncStore, syncAccounts, syncAccountsOrResync } from '../snippets/sync.ts'

let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

function memoryStore() {
  const rows = new Map<string, { name: string | null }>()
  let token: string | undefined
  const store: SyncStore = {
    put: async (id, row) => void rows.set(id, row),
    remove: async (id) => void rows.delete(id),
    clear: async () => rows.clear(),
    loadToken: async () => token,
    saveToken: async (t) => {
      token = t
    },
  }
  return { store, rows, token: () => token }
}

describe('sync guide', () => {
  it('syncs all accounts, then only the changes, and resyncs after an expired token', async () => {
    const { store, rows, token } = memoryStore()
    await syncAccounts(client, store)
    const total = rows.size
    expect(total).toBeGreaterThan(0)
    expect(token()).toContain('$deltatoken=')
    const id = await client.create('accounts', { name: 'Sync Guide Ltd' })
    const gone = [...rows.keys()][0] as string
    await client.delete('accounts', gone)
    await syncAccounts(client, store)
    expect(rows.get(id)).toEqual({ name: 'Sync Guide Ltd' })
    expect(rows.has(gone)).toBe(false)
    expect(rows.size).toBe(total)
    await store.saveToken((token() as string).replace(/deltatoken=\d+/, 'deltatoken=999999999999'))
    await syncAccountsOrResync(client, store)
    expect(rows.size).toBe(total)
    expect(token()).not.toContain('999999999999')
  })
})
