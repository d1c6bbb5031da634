import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, defaultSeed } from '../index.ts'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// dynamics-web-api, a client we did not write, as an application user whose role reads only the contacts it owns
// (prvReadContact:Basic): a $filter path to a contact SYSTEM owns matches nothing, one to its own contact matches.
const ids = defaultIds
const SEEDED = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

beforeAll(async () => {
  const seed = defaultSeed()
  const contoso = seed.orgs?.find((o) => o.id === ids.contosoOrgId)
  if (!contoso) throw new Error('no Contoso org')
  contoso.dataverse = {
    roles: [
      {
        name: 'Own Contacts',
        privileges: [
          'prvReadAccount',
          'prvCreateAccount',
          'prvAppendAccount',
          'prvCreateContact',
          'prvReadContact:Basic',
          'prvAppendToContact',
        ],
      },
    ],
    systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['Own Contacts'] }],
    sampleData: false,
    rows: {
      contacts: [{ contactid: SEEDED, firstname: 'Seeded', lastname: 'Contact' }],
      accounts: [{ name: 'Seeded Co', 'primarycontactid@odata.bind': `/contacts(${SEEDED})` }],
    },
  }
  ;({ client, stop } = await startWithDynamicsWebApi({ seed }))
})

afterAll(async () => {
  await stop?.()
})

describe('dynamics-web-api with user-level Read on the related table', () => {
  it('filters through a lookup only to the contacts the application user owns', async () => {
    const names = async (filter: string) =>
      (
        await client.retrieveMultiple<{ name: string }>({ collection: 'accounts', select: ['name'], filter })
      ).value.map((a) => a.name)
    expect(await names("primarycontactid/fullname eq 'Seeded Contact'")).toEqual([])
    const mine = await client.create<Record<string, unknown>, string>({
      collection: 'contacts',
      data: { firstname: 'Mine', lastname: 'Contact' },
    })
    await client.create({
      collection: 'accounts',
      data: { name: 'Mine Co', 'primarycontactid@odata.bind': `contacts(${mine})` },
    })
    expect(await names("primarycontactid/fullname eq 'Mine Contact'")).toEqual(['Mine Co'])
    const expanded = await client.retrieveMultiple<{ name: string; primarycontactid: unknown }>({
      collection: 'accounts',
      select: ['name'],
      expand: [{ property: 'primarycontactid', select: ['fullname'] }],
      orderBy: ['name'],
    })
    expect(expanded.value).toMatchObject([
      { name: 'Mine Co', primarycontactid: { fullname: 'Mine Contact' } },
      { name: 'Seeded Co', primarycontactid: null },
    ])
    await expect(
      client.retrieve({ collection: 'contacts', key: SEEDED, select: ['fullname'] }),
    ).rejects.toMatchObject({ status: 403 })
  })
})
