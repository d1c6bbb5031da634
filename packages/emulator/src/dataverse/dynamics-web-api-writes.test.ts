import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// dynamics-web-api, unchanged: a create that returns the row with a navigation property expanded, and single-property
// updates and deletes, alone and in a batch (Microsoft Learn: Create a table row using the Web API, § Create with data
// returned; Update and delete table rows using the Web API, § Update / Delete a single property value).
type Json = Record<string, unknown>
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

beforeAll(async () => {
  ;({ client, stop } = await startWithDynamicsWebApi())
})

afterAll(async () => {
  await stop?.()
})

describe('dynamics-web-api writes with data returned and single properties', () => {
  it('creates with returnRepresentation, $select and $expand of a single-valued navigation property', async () => {
    const contact = await client.create<Json, string>({
      collection: 'contacts',
      data: { firstname: 'Yvonne', lastname: 'McKay' },
    })
    const account = await client.create<Json, Json>({
      collection: 'accounts',
      data: { name: 'DWA returned', 'primarycontactid@odata.bind': `contacts(${contact})` },
      returnRepresentation: true,
      select: ['name'],
      expand: [{ property: 'primarycontactid', select: ['fullname'] }],
    })
    expect(account.name).toBe('DWA returned')
    expect(account.primarycontactid).toMatchObject({ contactid: contact, fullname: 'Yvonne McKay' })
  })

  it('updates and clears single properties, directly and in a batch', async () => {
    const id = await client.create<Json, string>({
      collection: 'accounts',
      data: { name: 'DWA props', description: 'first', telephone1: '1' },
    })
    await client.updateSingleProperty({ collection: 'accounts', key: id, fieldValuePair: { name: 'Direct' } })
    await client.deleteRecord({ collection: 'accounts', key: id, property: 'telephone1' })
    expect(
      await client.retrieve<Json>({ collection: 'accounts', key: id, select: ['name', 'telephone1'] }),
    ).toMatchObject({ name: 'Direct', telephone1: null })

    client.startBatch()
    client.updateSingleProperty({ collection: 'accounts', key: id, fieldValuePair: { name: 'Batched' } })
    client.deleteRecord({ collection: 'accounts', key: id, property: 'description' })
    await client.executeBatch()
    expect(
      await client.retrieve<Json>({ collection: 'accounts', key: id, select: ['name', 'description'] }),
    ).toMatchObject({ name: 'Batched', description: null })
  })
})
