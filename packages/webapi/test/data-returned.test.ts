import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bind, type DataverseClient, odata } from '../src/index.ts'
import { startWorld, type World } from './support.ts'

// Against the emulator: a create that returns the row with related rows expanded (Learn: Create a table row using the
// Web API, § Create with data returned), and single-property writes in a $batch (Learn: Update and delete table rows
// using the Web API, § Update / Delete a single property value).
let world: World
let client: DataverseClient

beforeAll(async () => {
  world = await startWorld()
  client = world.appClient(world.contosoUrl, defaultIds.contosoTenantId)
})
afterAll(async () => {
  await world?.stop()
})

interface Returned {
  accountid: string
  name: string
  primarycontactid: { contactid: string; fullname: string } | null
  contact_customer_accounts: { fullname: string }[]
}

describe('create with data returned, expanded', () => {
  it('returns the new row with a bound contact and deep-inserted contacts expanded', async () => {
    const contactId = await client.create('contacts', { firstname: 'Yvonne', lastname: 'McKay' })
    const account = await client.create<Returned>(
      'accounts',
      {
        name: 'Expanded on create',
        'primarycontactid@odata.bind': bind('contacts', contactId),
        contact_customer_accounts: [{ firstname: 'Deep', lastname: 'Insert' }],
      },
      {
        returnRepresentation: true,
        select: ['name'],
        expand: [
          { property: 'primarycontactid', select: ['fullname'] },
          { property: 'contact_customer_accounts', select: ['fullname'] },
        ],
      },
    )
    expect(account.name).toBe('Expanded on create')
    expect(account.accountid).toMatch(/^[0-9a-f-]{36}$/)
    expect(account.primarycontactid).toMatchObject({ contactid: contactId, fullname: 'Yvonne McKay' })
    expect(account.contact_customer_accounts.map((c) => c.fullname)).toEqual(['Deep Insert'])
  })

  it('update with data returned takes select (expand is refused before sending, see the conformance cases)', async () => {
    const id = await client.create('accounts', { name: 'Before' })
    const updated = await client.update<{ name: string }>(
      'accounts',
      id,
      { name: 'After' },
      { returnRepresentation: true, select: ['name'] },
    )
    expect(updated.name).toBe('After')
  })
})

describe('single properties in a batch', () => {
  it('sets and clears columns by id and by Content-ID in a change set', async () => {
    const id = await client.create('accounts', { name: 'Props', description: 'clear me', telephone1: '1' })
    const batch = client.batch()
    batch.setProperty('accounts', id, 'name', 'Props renamed')
    batch.clearProperty('accounts', id, 'description')
    batch.changeSet((cs) => {
      const made = cs.create('accounts', { name: 'Props new', description: 'clear me too' })
      cs.setProperty('accounts', made.ref, 'telephone1', '555-0100')
      cs.clearProperty('accounts', made.ref, 'description')
    })
    const results = await batch.execute()
    expect(results.map((r) => r.ok && r.status)).toEqual([204, 204, 204, 204, 204])
    const made = results[2]?.ok ? results[2].id : undefined

    const read = (key: string) =>
      client.retrieve<Record<string, unknown>>('accounts', key, {
        select: ['name', 'description', 'telephone1'],
      })
    expect(await read(id)).toMatchObject({ name: 'Props renamed', description: null, telephone1: '1' })
    expect(await read(made as string)).toMatchObject({
      name: 'Props new',
      description: null,
      telephone1: '555-0100',
    })
  })

  it('a failing property write rolls its change set back', async () => {
    const batch = client.batch({ continueOnError: true })
    batch.changeSet((cs) => {
      cs.create('accounts', { name: 'Rolled back by a property' })
      cs.setProperty('accounts', '00000000-0000-0000-0000-000000000009', 'name', 'missing row')
    })
    const [created, failed] = await batch.execute()
    expect(created?.ok === false && created.error.code).toBe('BATCH_ROLLED_BACK')
    expect(failed?.ok === false && failed.error.code).toBe('NOT_FOUND')
    expect(await client.count('accounts', { filter: odata`name eq ${'Rolled back by a property'}` })).toBe(0)
  })
})
