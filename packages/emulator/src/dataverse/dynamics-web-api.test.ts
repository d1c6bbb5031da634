import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle } from '../index.ts'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// Fidelity: dynamics-web-api (a Dataverse Web API client we did not write), configured only with the org URL and an
// msal-node token callback, runs its CRUD, paging, FetchXML, batch and impersonation against the emulator.
const ids = defaultIds
let emulator: EmulatorHandle
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

beforeAll(async () => {
  ;({ emulator, client, stop } = await startWithDynamicsWebApi())
})

afterAll(async () => {
  await stop?.()
})

describe('dynamics-web-api against the emulator', () => {
  it('creates, retrieves, updates, upserts and deletes', async () => {
    const id = await client.create<Record<string, unknown>, string>({
      collection: 'accounts',
      data: { name: 'DWA Ltd', accountnumber: 'DWA-1' },
    })
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const read = await client.retrieve<{ name: string }>({
      collection: 'accounts',
      key: id,
      select: ['name'],
    })
    expect(read.name).toBe('DWA Ltd')
    const updated = await client.update<Record<string, unknown>, { telephone1: string }>({
      collection: 'accounts',
      key: id,
      data: { telephone1: '123' },
      returnRepresentation: true,
      select: ['telephone1'],
    })
    expect(updated.telephone1).toBe('123')
    await client.upsert({
      collection: 'accounts',
      key: "accountnumber='DWA-2'",
      data: { name: 'Upserted by key' },
    })
    const byKey = await client.retrieve<{ name: string }>({
      collection: 'accounts',
      key: "accountnumber='DWA-2'",
      select: ['name'],
    })
    expect(byKey.name).toBe('Upserted by key')
    await client.deleteRecord({ collection: 'accounts', key: id })
    await expect(client.retrieve({ collection: 'accounts', key: id })).rejects.toMatchObject({
      status: 404,
      code: '0x80040217',
    })
  })

  it('pages with retrieveAll and counts', async () => {
    emulator.admin.insertRows(
      ids.contosoOrgId,
      'contact',
      Array.from({ length: 6_000 }, (_, i) => ({ firstname: 'Dwa', lastname: `N${i}` })),
    )
    const all = await client.retrieveAll<{ fullname: string }>({
      collection: 'contacts',
      select: ['fullname'],
      filter: "firstname eq 'Dwa'",
      maxPageSize: 2_500,
    })
    expect(all.value).toHaveLength(6_000)
    expect(await client.count({ collection: 'contacts', filter: "firstname eq 'Dwa'" })).toBe(5_000)
  })

  it('filters with Dataverse query functions in their documented form (LastXDays, EqualUserId)', async () => {
    const stamp = Date.now().toString(36)
    emulator.admin.insertRows(ids.contosoOrgId, 'contact', [
      {
        firstname: `Fn${stamp}`,
        birthdate: new Date(Date.parse(emulator.admin.clock().now) - 3 * 86_400_000).toISOString(),
      },
      { firstname: `Fn${stamp}`, birthdate: '2001-01-01T00:00:00Z' },
    ])
    const recent = await client.retrieveMultiple<{ firstname: string; birthdate: string }>({
      collection: 'contacts',
      select: ['firstname', 'birthdate'],
      filter: `firstname eq 'Fn${stamp}' and Microsoft.Dynamics.CRM.LastXDays(PropertyName='birthdate',PropertyValue=7)`,
    })
    expect(recent.value).toHaveLength(1)
    // dynamics-web-api hands dates back as Date objects
    expect(new Date(recent.value[0]?.birthdate as string).getUTCFullYear()).not.toBe(2001)
    const alice = await client.callFunction<{ UserId: string }>({
      name: 'WhoAmI',
      impersonateAAD: ids.users.contosoAlice,
    })
    await client.create({
      collection: 'accounts',
      data: { name: `Alice's ${stamp}` },
      impersonateAAD: ids.users.contosoAlice,
    })
    await client.create({ collection: 'accounts', data: { name: `App's ${stamp}` } })
    const owned = await client.retrieveMultiple<{ name: string; _ownerid_value: string }>({
      collection: 'accounts',
      select: ['name', '_ownerid_value'],
      filter: `endswith(name,'${stamp}') and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')`,
      impersonateAAD: ids.users.contosoAlice,
    })
    expect(owned.value.map((a) => [a.name, a._ownerid_value])).toEqual([[`Alice's ${stamp}`, alice.UserId]])
  })

  it('filters on a column of the related row through a lookup (primarycontactid/fullname)', async () => {
    const stamp = Date.now().toString(36)
    const contact = await client.create<Record<string, unknown>, string>({
      collection: 'contacts',
      data: { firstname: 'Susanna', lastname: `Stubberod ${stamp}` },
    })
    await client.create({
      collection: 'accounts',
      data: { name: `Litware ${stamp}`, 'primarycontactid@odata.bind': `/contacts(${contact})` },
    })
    await client.create({ collection: 'accounts', data: { name: `Without contact ${stamp}` } })
    const found = await client.retrieveMultiple<{ name: string; _primarycontactid_value: string }>({
      collection: 'accounts',
      select: ['name', '_primarycontactid_value'],
      filter: `primarycontactid/fullname eq 'Susanna Stubberod ${stamp}'`,
    })
    expect(found.value.map((a) => [a.name, a._primarycontactid_value])).toEqual([
      [`Litware ${stamp}`, contact],
    ])
    const empty = await client.retrieveMultiple<{ name: string }>({
      collection: 'accounts',
      select: ['name'],
      filter: `endswith(name,'${stamp}') and primarycontactid/fullname eq null`,
    })
    expect(empty.value.map((a) => a.name)).toEqual([`Without contact ${stamp}`])
  })

  it('pages FetchXML with fetchAll and its paging cookie', async () => {
    const fetchXml =
      '<fetch count="2000"><entity name="contact"><attribute name="fullname"/><order attribute="lastname"/><filter><condition attribute="firstname" operator="eq" value="Dwa"/></filter></entity></fetch>'
    const result = await client.fetchAll<{ fullname: string }>({ collection: 'contacts', fetchXml })
    expect(result.value).toHaveLength(6_000)
  })

  it('runs a batch with a change set, and reports the failure of a rolled-back one', async () => {
    client.startBatch()
    client.create<Record<string, unknown>, string>({
      collection: 'accounts',
      data: { name: 'batched 1' },
      contentId: '1',
    })
    client.create<Record<string, unknown>, string>({
      collection: 'contacts',
      data: { firstname: 'batched', 'parentcustomerid_account@odata.bind': '$1' },
    })
    const results = await client.executeBatch()
    expect(results).toHaveLength(2)
    expect(results[0]).toMatch(/^[0-9a-f-]{36}$/)

    const before = emulator.admin.org(ids.contosoOrgId).data.count('account')
    client.startBatch()
    client.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name: 'rolled back' } })
    client.create<Record<string, unknown>, string>({ collection: 'accounts', data: { notacolumn: true } })
    await expect(client.executeBatch()).rejects.toBeDefined()
    expect(emulator.admin.org(ids.contosoOrgId).data.count('account')).toBe(before)
  })

  it('references a Content-ID in a change set: a related row through $1/navigation, an update of $1', async () => {
    client.startBatch()
    client.create({ collection: 'accounts', data: { name: 'DWA parent' }, contentId: '1' })
    client.create({
      contentId: '$1',
      collection: 'contact_customer_accounts',
      data: { firstname: 'DWA kid' },
    })
    client.update({ contentId: '$1', data: { telephone1: '42' } })
    const [parent, kid] = (await client.executeBatch()) as string[]
    const row = await client.retrieve<{
      telephone1: string
      contact_customer_accounts: { contactid: string }[]
    }>({
      collection: 'accounts',
      key: parent as string,
      select: ['telephone1'],
      expand: [{ property: 'contact_customer_accounts', select: ['firstname'] }],
    })
    expect(row.telephone1).toBe('42')
    expect(row.contact_customer_accounts.map((c) => c.contactid)).toEqual([kid])
  })

  it('calls the bulk actions bound to an entity set by their full name, and gets a 400 without it', async () => {
    const targets = [{ '@odata.type': 'Microsoft.Dynamics.CRM.account', name: 'DWA bulk' }]
    const created = await client.callAction<{ Ids: string[] }>({
      collection: 'accounts',
      actionName: 'Microsoft.Dynamics.CRM.CreateMultiple',
      action: { Targets: targets },
    })
    expect(created.Ids).toHaveLength(1)
    await expect(
      client.callAction({
        collection: 'accounts',
        actionName: 'CreateMultiple',
        action: { Targets: targets },
      }),
    ).rejects.toMatchObject({ status: 400 })
  })

  it('runs reads in a batch beside a change set: retrieveMultiple, retrieve, count', async () => {
    const made = await client.create<Record<string, unknown>, string>({
      collection: 'accounts',
      data: { name: 'read in a batch' },
    })
    client.startBatch()
    client.retrieveMultiple({ collection: 'accounts', select: ['name'], filter: "name eq 'read in a batch'" })
    client.retrieve({ collection: 'accounts', key: made as string, select: ['name'] })
    client.update({ collection: 'accounts', key: made as string, data: { telephone1: '7' } })
    client.count({ collection: 'accounts' })
    const results = (await client.executeBatch()) as unknown[]
    expect(results).toHaveLength(4)
    expect((results[0] as { value: { name: string }[] }).value.map((r) => r.name)).toEqual([
      'read in a batch',
    ])
    expect((results[1] as { name: string }).name).toBe('read in a batch')
    expect(results[3]).toBe(emulator.admin.org(ids.contosoOrgId).data.count('account'))
  })

  it('impersonates with CallerObjectId', async () => {
    const id = await client.create<Record<string, unknown>, string>({
      collection: 'accounts',
      data: { name: 'for alice' },
      impersonateAAD: ids.users.contosoAlice,
    })
    const row = await client.retrieve<{ _createdby_value: string; _createdonbehalfby_value: string }>({
      collection: 'accounts',
      key: id,
      select: ['_createdby_value', '_createdonbehalfby_value'],
    })
    expect(row._createdby_value).not.toBe(row._createdonbehalfby_value)
    const who = await client.callFunction<{ UserId: string }>({
      name: 'WhoAmI',
      impersonateAAD: ids.users.contosoAlice,
    })
    expect(who.UserId).toBe(row._createdby_value)
  })
})

describe('dynamics-web-api reads formatted values', () => {
  it('gets money with separators and the state label through includeAnnotations', async () => {
    const created = await client.create({
      collection: 'accounts',
      data: { name: 'Formatted Co', revenue: 5000000 },
      returnRepresentation: true,
    })
    const id = (created as unknown as { accountid: string }).accountid
    const row = (await client.retrieve({
      collection: 'accounts',
      key: id,
      select: ['name', 'revenue', 'statecode'],
      includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
    })) as Record<string, unknown>
    // dynamics-web-api exposes annotations under its own names (`revenue_Formatted`) or the raw key
    const revenue = row.revenue_Formatted ?? row['revenue@OData.Community.Display.V1.FormattedValue']
    const state = row.statecode_Formatted ?? row['statecode@OData.Community.Display.V1.FormattedValue']
    expect(revenue).toBe('$5,000,000.00')
    expect(state).toBe('Active')
  })

  it("formats in the impersonated user's locale once their usersettings say so", async () => {
    const created = (await client.create({
      collection: 'accounts',
      data: { name: 'Formatted for Alice', numberofemployees: 9500 },
      returnRepresentation: true,
    })) as unknown as { accountid: string }
    const alice = await client.callFunction<{ UserId: string }>({
      name: 'WhoAmI',
      impersonateAAD: ids.users.contosoAlice,
    })
    emulator.admin.insertRows(ids.contosoOrgId, 'usersettings', [
      { systemuserid: alice.UserId, localeid: 1031, timezonecode: 110 },
    ])
    const employees = async (impersonateAAD?: string) => {
      const row = (await client.retrieve({
        collection: 'accounts',
        key: created.accountid,
        select: ['numberofemployees'],
        includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
        ...(impersonateAAD ? { impersonateAAD } : {}),
      })) as Record<string, unknown>
      return (
        row.numberofemployees_Formatted ?? row['numberofemployees@OData.Community.Display.V1.FormattedValue']
      )
    }
    expect(await employees(ids.users.contosoAlice)).toBe('9.500')
    expect(await employees()).toBe('9,500')
  })
})

describe('dynamics-web-api reads the table definitions unchanged', () => {
  type Json = Record<string, unknown>
  it('retrieveEntity and retrieveEntities', async () => {
    const account = await client.retrieveEntity<Json>({
      key: "LogicalName='account'",
      select: ['LogicalName', 'EntitySetName', 'PrimaryIdAttribute'],
    })
    expect(account).toMatchObject({
      LogicalName: 'account',
      EntitySetName: 'accounts',
      PrimaryIdAttribute: 'accountid',
    })
    const byId = await client.retrieveEntity<Json>({
      key: account.MetadataId as string,
      select: ['LogicalName'],
    })
    expect(byId.LogicalName).toBe('account')
    const all = await client.retrieveEntities<Json>({
      select: ['LogicalName'],
      filter: "LogicalName eq 'contact'",
    })
    expect(all.value.map((e) => e.LogicalName)).toEqual(['contact'])
    const picklists = await client.retrieveEntity<{ Attributes: Json[] }>({
      key: "LogicalName='account'",
      select: ['LogicalName'],
      expand: [
        {
          property: 'Attributes',
          select: ['LogicalName'],
          filter: "AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'",
        },
      ],
    })
    expect(picklists.Attributes.map((a) => a.LogicalName)).toEqual(['industrycode'])
    const withKeys = await client.retrieveEntity<{ Keys: Json[] }>({
      key: "LogicalName='contact'",
      select: ['LogicalName'],
      expand: [{ property: 'Keys', select: ['KeyAttributes'] }],
    })
    expect(withKeys.Keys.map((k) => k.KeyAttributes)).toEqual([['emailaddress1']])
  })

  it('retrieveAttributes, also with a typed cast and the option set expanded, and retrieveAttribute', async () => {
    const attributes = await client.retrieveAttributes<Json>({
      entityKey: "LogicalName='account'",
      select: ['LogicalName'],
    })
    expect(attributes.value.map((a) => a.LogicalName)).toContain('accountnumber')
    const picklists = await client.retrieveAttributes<Json>({
      entityKey: "LogicalName='account'",
      castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      select: ['LogicalName'],
      expand: [{ property: 'OptionSet', select: ['Options'] }],
    })
    const industry = picklists.value.find((a) => a.LogicalName === 'industrycode') as Json
    const options = (
      industry.OptionSet as { Options: { Value: number; Label: { UserLocalizedLabel: Json } }[] }
    ).Options
    expect(options[0]).toMatchObject({ Value: 1, Label: { UserLocalizedLabel: { Label: 'Accounting' } } })
    const one = await client.retrieveAttribute<Json>({
      entityKey: "LogicalName='account'",
      attributeKey: "LogicalName='revenue'",
    })
    expect(one).toMatchObject({
      AttributeType: 'Money',
      '@odata.type': '#Microsoft.Dynamics.CRM.MoneyAttributeMetadata',
    })
  })

  it('retrieveRelationships with a cast, and retrieveGlobalOptionSet answers 404 for an unknown name', async () => {
    const rels = await client.retrieveRelationships<Json>({
      castType: 'Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata',
      select: ['SchemaName', 'ReferencedEntity', 'ReferencingEntity'],
    })
    expect(rels.value).toContainEqual(
      expect.objectContaining({ SchemaName: 'contact_customer_accounts', ReferencingEntity: 'contact' }),
    )
    const budget = await client.retrieveGlobalOptionSet<Json>({ key: "Name='budgetstatus'" })
    expect(budget).toMatchObject({
      Name: 'budgetstatus',
      IsGlobal: true,
      Options: [{ Value: 0 }, {}, {}, { Value: 3 }],
    })
    const cast = await client.retrieveGlobalOptionSet<Json>({
      key: budget.MetadataId as string,
      castType: 'Microsoft.Dynamics.CRM.OptionSetMetadata',
      select: ['Name'],
    })
    expect(cast.Name).toBe('budgetstatus')
    await expect(client.retrieveGlobalOptionSet({ key: "Name='nosuchset'" })).rejects.toMatchObject({
      status: 404,
      code: '0x80040217',
    })
  })

  // Change tracking (Learn, "Use change tracking to synchronize data with external systems"): trackChanges sends
  // Prefer: odata.track-changes; the deltaLink is passed back as the next page link.
  it('retrieveMultiple with trackChanges, then the deltaLink: changed rows and $deletedEntity entries', async () => {
    const ids = await Promise.all(
      ['DWA CT 1', 'DWA CT 2'].map((name) =>
        client.create<Record<string, unknown>, string>({ collection: 'accounts', data: { name } }),
      ),
    )
    const first = await client.retrieveMultiple<Json>({
      collection: 'accounts',
      select: ['name'],
      trackChanges: true,
    })
    expect(first.value.map((r) => r.accountid)).toEqual(expect.arrayContaining(ids))
    const link = first.oDataDeltaLink as string
    expect(link).toContain('$deltatoken=')
    await client.update({ collection: 'accounts', key: ids[0] as string, data: { name: 'DWA CT 1b' } })
    await client.deleteRecord({ collection: 'accounts', key: ids[1] as string })
    const delta = await client.retrieveMultiple<Json>({ collection: 'accounts', trackChanges: true }, link)
    expect(delta.value).toEqual([
      expect.objectContaining({ accountid: ids[0], name: 'DWA CT 1b' }),
      expect.objectContaining({ id: ids[1], reason: 'deleted' }),
    ])
    expect(delta.oDataDeltaLink).toContain('$deltatoken=')
  })
})
