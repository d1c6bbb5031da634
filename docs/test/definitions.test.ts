import { startEmulator } from '@dataverse-s2s/emulator'
import type { DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import {
  choiceLabels,
  missingTable,
  relationshipsAndGlobal,
  revalidatingClient,
  tableAndColumns,
  upsertByKey,
} from '../snippets/definitions.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'

let setup: Setup
let client: DataverseClient
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  client = clientFor(setup, setup.contoso)
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('definitions guide', () => {
  it('reads a table and its columns', async () => {
    const { account, columns } = await tableAndColumns(client)
    expect(account).toMatchObject({
      entitySetName: 'accounts',
      primaryIdAttribute: 'accountid',
      displayName: 'Account',
    })
    expect(columns.find((c) => c.logicalName === 'primarycontactid')).toMatchObject({
      type: 'Lookup',
      targets: ['contact'],
    })
  })

  it('labels choice values and groups status by state', async () => {
    await client.create('accounts', { name: 'Definitions Guide Ltd', industrycode: 7 })
    const { industry, named, activeStatuses } = await choiceLabels(client)
    expect(industry.options).toHaveLength(33)
    expect(named).toContain('Definitions Guide Ltd: Consulting')
    expect(activeStatuses).toEqual([1])
  })

  it('lists relationships and reads a global choice', async () => {
    const { relationships, budget } = await relationshipsAndGlobal(client)
    expect(
      relationships.some((r) => r.kind === 'OneToMany' && r.schemaName === 'contact_customer_accounts'),
    ).toBe(true)
    expect(budget.options.map((o) => o.value)).toEqual([0, 1, 2, 3])
  })

  it('reads the alternate keys and upserts by one', async () => {
    const key = await upsertByKey(client, 'DOCS-KEY-1')
    expect(key).toMatchObject({ columns: ['accountnumber'], status: 'Active' })
    const row = await client.retrieve<{ name: string }>('accounts', { accountnumber: 'DOCS-KEY-1' })
    expect(row.name).toBe('Fourth Coffee')
  })

  it('tells a missing table by NOT_FOUND', async () => {
    expect(await missingTable(client)).toBe('not deployed yet')
  })

  it('sets how long the version stamp is trusted, and clears the cache', async () => {
    const { client: other, stamp } = await revalidatingClient({
      url: setup.contoso.orgUrl,
      ca: setup.ca,
      getToken: (resource) =>
        setup.emulator.world.mintAppToken({
          tenantId: setup.contoso.tenantId,
          appId: setup.clientId,
          resource,
        }),
    })
    expect(stamp).toBe(await client.definitions.version())
    expect((await other.definitions.table('contact')).entitySetName).toBe('contacts')
  })
})
