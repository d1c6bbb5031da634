import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataverseClient } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

let world: World
let client: DataverseClient

beforeAll(async () => {
  world = await startWorld()
  client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
})
afterAll(async () => {
  await world?.stop()
})

describe('client.definitions against the emulator', () => {
  it('reads a table and lists tables', async () => {
    const account = await client.definitions.table('account')
    expect(account).toMatchObject({
      logicalName: 'account',
      schemaName: 'Account',
      entitySetName: 'accounts',
      primaryIdAttribute: 'accountid',
      primaryNameAttribute: 'name',
      displayName: 'Account',
      isCustom: false,
    })
    expect(account.metadataId).toMatch(/^[0-9a-f-]{36}$/)
    const tables = await client.definitions.tables()
    expect(tables.map((t) => t.logicalName)).toEqual(
      expect.arrayContaining(['account', 'contact', 'systemuser']),
    )
    expect(await client.definitions.tables({ custom: true })).toEqual([])
  })

  it('reads columns with the options of choice, state, status and boolean columns', async () => {
    const columns = await client.definitions.columns('account')
    const byName = new Map(columns.map((c) => [c.logicalName, c]))
    expect(byName.get('accountnumber')).toMatchObject({ type: 'String', maxLength: 20 })
    expect(byName.get('primarycontactid')).toMatchObject({ type: 'Lookup', targets: ['contact'] })
    expect(byName.get('industrycode')?.choice).toMatchObject({ kind: 'Picklist', global: false })
    expect(byName.get('industrycode')?.choice?.options[0]).toEqual({
      value: 1,
      label: 'Accounting',
      labels: { 1033: 'Accounting' },
    })
    expect(byName.get('statuscode')?.choice?.options).toEqual([
      expect.objectContaining({ value: 1, label: 'Active', state: 0 }),
      expect.objectContaining({ value: 2, label: 'Inactive', state: 1 }),
    ])
    expect(byName.get('creditonhold')?.choice?.options.map((o) => [o.value, o.label])).toEqual([
      [0, 'No'],
      [1, 'Yes'],
    ])
    const state = await client.definitions.choice('account', 'statecode')
    expect(state.options[0]).toMatchObject({ value: 0, label: 'Active', defaultStatus: 1 })
  })

  it('reads relationships and a global choice', async () => {
    const rels = await client.definitions.relationships('contact')
    expect(rels).toContainEqual(
      expect.objectContaining({
        kind: 'OneToMany',
        schemaName: 'contact_customer_accounts',
        referencedEntity: 'account',
        referencingEntity: 'contact',
        referencingAttribute: 'parentcustomerid',
        referencingNavigation: 'parentcustomerid_account',
      }),
    )
    const users = await client.definitions.relationships('systemuser')
    expect(users.find((r) => r.kind === 'ManyToMany')?.schemaName).toBe('systemuserroles_association')
    const budget = await client.definitions.globalChoice('budgetstatus')
    expect(budget).toMatchObject({ name: 'budgetstatus', global: true, kind: 'Picklist' })
    expect(budget.options.map((o) => o.label)).toEqual([
      'No Committed Budget',
      'May Buy',
      'Can Buy',
      'Will Buy',
    ])
  })

  it("reads a table's alternate keys", async () => {
    const keys = await client.definitions.keys('contact')
    expect(keys).toEqual([
      expect.objectContaining({
        logicalName: 'contact_emailaddress1',
        columns: ['emailaddress1'],
        status: 'Active',
      }),
    ])
    // the key addresses a row: what the definitions say is what the API accepts
    const [key] = keys
    const email = `keys-${Date.now()}@example.com`
    const id = await client.create('contacts', { lastname: 'Keyed', emailaddress1: email })
    const byKey = await client.retrieve<{ contactid: string }>('contacts', {
      [key?.columns[0] as string]: email,
    })
    expect(byKey.contactid).toBe(id)
    await expect(client.definitions.keys('nosuchtable')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('fails with typed errors that say what to do', async () => {
    await expect(client.definitions.table('nosuchtable')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      message: expect.stringContaining("'nosuchtable'"),
    })
    await expect(client.definitions.choice('account', 'name')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('not a choice'),
    })
    await expect(client.definitions.choice('account', 'nosuch')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(client.definitions.table("account')/x")).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('caches under the org version stamp: a second read sends only what is not cached', async () => {
    const fresh = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
    const stamp = await fresh.definitions.version()
    expect(stamp).toBe(await client.definitions.version())
    const a = await fresh.definitions.columns('contact')
    const b = await fresh.definitions.columns('contact')
    expect(b).toBe(a)
  })
})
