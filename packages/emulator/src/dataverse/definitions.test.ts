import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Json = Record<string, unknown>

// "Query table definitions using the Web API", "Retrieve table definitions by name or MetadataId" and
// "Query schema definitions" (learn.microsoft.com/power-apps/developer/data-platform/webapi/...)
describe('schema definitions read API', () => {
  let env: Awaited<ReturnType<typeof setup>>
  const get = async (path: string, token?: string) => {
    const res = await env.request(`${API}/${path}`, token ? { token } : {})
    return { status: res.status, body: (await res.json()) as Json }
  }
  beforeAll(async () => {
    env = await setup({
      seed: {
        sampleData: false,
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
        optionSets: [
          {
            name: 'new_priority',
            displayName: 'Priority',
            options: [
              { value: 100_000_000, label: 'High' },
              { value: 100_000_001, label: 'Low' },
            ],
          },
        ],
        tables: [
          {
            logicalName: 'new_ticket',
            schemaName: 'new_Ticket',
            displayName: 'Ticket',
            columns: [
              { name: 'new_priority', type: 'picklist', optionSet: 'new_priority', displayName: 'Priority' },
              {
                name: 'new_accountid',
                type: 'lookup',
                target: 'account',
                reverseNavigation: 'new_account_tickets',
              },
              {
                name: 'new_channels',
                type: 'multiselectpicklist',
                options: [
                  { value: 1, label: 'Email' },
                  { value: 2, label: 'Phone' },
                  { value: 3, label: 'Chat' },
                ],
              },
            ],
          },
        ],
      },
    })
  })

  it('lists tables with $select and $filter, with the documented context and labels', async () => {
    const { status, body } = await get(
      "EntityDefinitions?$select=LogicalName,DisplayName,EntitySetName&$filter=LogicalName eq 'account' or IsCustomEntity eq true",
    )
    expect(status).toBe(200)
    expect(body['@odata.context']).toBe(
      'https://localhost:8444/api/data/v9.2/$metadata#EntityDefinitions(LogicalName,DisplayName,EntitySetName)',
    )
    const value = body.value as Json[]
    expect(value.map((v) => v.LogicalName)).toEqual(['account', 'new_ticket'])
    expect(Object.keys(value[0] as Json).sort()).toEqual([
      'DisplayName',
      'EntitySetName',
      'LogicalName',
      'MetadataId',
    ])
    expect(value[1]).toMatchObject({
      EntitySetName: 'new_tickets',
      DisplayName: {
        LocalizedLabels: [{ Label: 'Ticket', LanguageCode: 1033 }],
        UserLocalizedLabel: { Label: 'Ticket', LanguageCode: 1033 },
      },
    })
  })

  it('reads one table by LogicalName and by MetadataId, the same id on every read', async () => {
    const byName = await get("EntityDefinitions(LogicalName='account')")
    expect(byName.status).toBe(200)
    expect(byName.body).toMatchObject({
      LogicalName: 'account',
      SchemaName: 'Account',
      EntitySetName: 'accounts',
      PrimaryIdAttribute: 'accountid',
      PrimaryNameAttribute: 'name',
      ObjectTypeCode: 1,
      IsCustomEntity: false,
    })
    expect(byName.body['@odata.context']).toBe(
      'https://localhost:8444/api/data/v9.2/$metadata#EntityDefinitions/$entity',
    )
    const id = byName.body.MetadataId as string
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const byId = await get(`EntityDefinitions(${id})?$select=LogicalName`)
    expect(byId.body).toMatchObject({ LogicalName: 'account', MetadataId: id })
    expect((await get("EntityDefinitions(LogicalName='account')")).body.MetadataId).toBe(id)
  })

  it('answers 404 0x80040217 for an unknown table and 400 for an unknown property', async () => {
    const missing = await get("EntityDefinitions(LogicalName='nosuchtable')")
    expect(missing.status).toBe(404)
    expect((missing.body.error as Json).code).toBe('0x80040217')
    expect((missing.body.error as Json).message).toContain("'nosuchtable'")
    const bad = await get("EntityDefinitions(LogicalName='account')?$select=NoSuchProperty")
    expect(bad.status).toBe(400)
    expect((bad.body.error as Json).message).toContain('NoSuchProperty')
  })

  it('serves columns through $expand=Attributes, /Attributes and /Attributes(LogicalName=...)', async () => {
    const expanded = await get(
      "EntityDefinitions(LogicalName='account')?$select=LogicalName&$expand=Attributes($select=LogicalName,AttributeType)",
    )
    const attrs = expanded.body.Attributes as Json[]
    expect(attrs.find((a) => a.LogicalName === 'revenue')).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.MoneyAttributeMetadata',
      AttributeType: 'Money',
    })
    const list = await get(
      "EntityDefinitions(LogicalName='account')/Attributes?$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'String'&$select=LogicalName,MaxLength",
    )
    expect(list.status).toBe(200)
    const names = (list.body.value as Json[]).map((a) => a.LogicalName)
    expect(names).toContain('accountnumber')
    expect(names).not.toContain('revenue')
    const one = await get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='accountnumber')")
    expect(one.body).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
      LogicalName: 'accountnumber',
      EntityLogicalName: 'account',
      AttributeType: 'String',
      AttributeTypeName: { Value: 'StringType' },
      MaxLength: 20,
      RequiredLevel: { Value: 'None' },
    })
    const name = await get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')")
    expect(name.body).toMatchObject({ IsPrimaryName: true, RequiredLevel: { Value: 'ApplicationRequired' } })
    const lookup = await get(
      "EntityDefinitions(LogicalName='new_ticket')/Attributes(LogicalName='new_accountid')",
    )
    expect(lookup.body).toMatchObject({ AttributeType: 'Lookup', Targets: ['account'] })
  })

  // Learn, "Query table definitions using the Web API" § Querying EntityMetadata attributes: the documented query
  it('applies $filter inside $expand=Attributes(…) and relationships, and refuses other nested options', async () => {
    const picklists = await get(
      "EntityDefinitions(LogicalName='account')?$select=LogicalName&$expand=Attributes($select=LogicalName;$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist')",
    )
    expect(picklists.status).toBe(200)
    expect((picklists.body.Attributes as Json[]).map((a) => a.LogicalName)).toEqual(['industrycode'])
    const quoted = await get(
      "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'account'&$expand=ManyToOneRelationships($filter=SchemaName eq 'a;b)'),Attributes($filter=LogicalName eq 'name';$select=LogicalName)",
    )
    expect(quoted.status).toBe(200)
    const [account] = quoted.body.value as Json[]
    expect(account?.ManyToOneRelationships).toEqual([])
    expect(account?.Attributes).toEqual([expect.objectContaining({ LogicalName: 'name' })])
    const top = await get("EntityDefinitions(LogicalName='account')?$expand=Attributes($top=1)")
    expect(top.status).toBe(400)
  })

  it('casts to PicklistAttributeMetadata and expands the local and global option sets', async () => {
    const res = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet,GlobalOptionSet",
    )
    expect(res.status).toBe(200)
    expect(res.body['@odata.context']).toMatch(
      /#EntityDefinitions\([0-9a-f-]{36}\)\/Attributes\/Microsoft\.Dynamics\.CRM\.PicklistAttributeMetadata\(LogicalName\)$/,
    )
    const items = res.body.value as Json[]
    expect(items.map((i) => i.LogicalName)).toEqual(['industrycode']) // statecode/statuscode are State/Status
    const industry = items[0] as Json
    expect(industry.GlobalOptionSet).toBeNull()
    const set = industry.OptionSet as {
      Options: { Value: number; Label: Json }[]
      OptionSetType: string
      IsGlobal: boolean
    }
    expect(set).toMatchObject({ OptionSetType: 'Picklist', IsGlobal: false, Name: 'account_industrycode' })
    expect(set.Options).toHaveLength(33)
    expect(set.Options[10]).toMatchObject({
      Value: 11,
      Label: { UserLocalizedLabel: { Label: "Doctor's Offices and Clinics", LanguageCode: 1033 } },
    })
    const global = await get(
      "EntityDefinitions(LogicalName='new_ticket')/Attributes(LogicalName='new_priority')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=GlobalOptionSet",
    )
    expect(global.body.GlobalOptionSet).toMatchObject({ Name: 'new_priority', IsGlobal: true })
    const wrongCast = await get(
      "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    )
    expect(wrongCast.status).toBe(404)
    const noCast = await get("EntityDefinitions(LogicalName='account')/Attributes?$expand=OptionSet")
    expect(noCast.status).toBe(400)
  })

  it('serves state, status and boolean option sets with their typed options', async () => {
    const state = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StateAttributeMetadata?$expand=OptionSet",
    )
    const stateOptions = (((state.body.value as Json[])[0] as Json).OptionSet as Json).Options as Json[]
    expect(stateOptions[0]).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.StateOptionMetadata',
      Value: 0,
      DefaultStatus: 1,
    })
    const status = await get(
      "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='statuscode')/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$expand=OptionSet",
    )
    expect(((status.body.OptionSet as Json).Options as Json[])[1]).toMatchObject({ Value: 2, State: 1 })
    const bool = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$expand=OptionSet",
    )
    const creditonhold = (bool.body.value as Json[]).find((b) => b.LogicalName === 'creditonhold') as Json
    expect(creditonhold.OptionSet).toMatchObject({
      OptionSetType: 'Boolean',
      TrueOption: { Value: 1, Label: { UserLocalizedLabel: { Label: 'Yes' } } },
      FalseOption: { Value: 0 },
    })
    const lookups = await get(
      "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets",
    )
    expect((lookups.body.value as Json[]).find((l) => l.LogicalName === 'parentcustomerid')).toMatchObject({
      Targets: ['account', 'contact'],
    })
  })

  it('serves multi-select choices (AttributeType Virtual) and stores, validates and labels their values', async () => {
    const res = await get(
      "EntityDefinitions(LogicalName='new_ticket')/Attributes/Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata?$expand=OptionSet",
    )
    const [channels] = res.body.value as Json[]
    expect(channels).toMatchObject({
      LogicalName: 'new_channels',
      AttributeType: 'Virtual',
      AttributeTypeName: { Value: 'MultiSelectPicklistType' },
      OptionSet: { OptionSetType: 'Picklist', Options: [{ Value: 1 }, { Value: 2 }, { Value: 3 }] },
    })
    const [id] = env.org.data.insertRows('new_ticket', [{ name: 'M', new_channels: '3, 1' }])
    const read = await env.request(`${API}/new_tickets(${id})?$select=new_channels`, {
      headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
    })
    expect(await read.json()).toMatchObject({
      new_channels: '1,3',
      'new_channels@OData.Community.Display.V1.FormattedValue': 'Email; Chat',
    })
    expect(() => env.org.data.insertRows('new_ticket', [{ name: 'N', new_channels: '4' }])).toThrow(
      /outside the valid range/,
    )
    expect(() => env.org.data.insertRows('new_ticket', [{ name: 'N', new_channels: 'a,b' }])).toThrow(
      /Edm.String/,
    )
  })

  // EntityKeyMetadata EntityType (Web API reference): the `Keys` navigation of EntityMetadata.
  it('serves the alternate keys through $expand=Keys, /Keys and /Keys(LogicalName=...)', async () => {
    const { status, body } = await get(
      "EntityDefinitions(LogicalName='account')?$select=LogicalName&$expand=Keys($select=LogicalName,KeyAttributes)",
    )
    expect(status).toBe(200)
    expect(body.Keys).toEqual([
      {
        MetadataId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        LogicalName: 'account_accountnumber',
        KeyAttributes: ['accountnumber'],
      },
    ])
    const all = await get("EntityDefinitions(LogicalName='contact')/Keys")
    expect(all.body['@odata.context']).toMatch(/\$metadata#EntityDefinitions\([0-9a-f-]{36}\)\/Keys$/)
    expect(all.body.value).toEqual([
      expect.objectContaining({
        LogicalName: 'contact_emailaddress1',
        EntityLogicalName: 'contact',
        KeyAttributes: ['emailaddress1'],
        EntityKeyIndexStatus: 'Active',
        IsManaged: true,
      }),
    ])
    const one = await get(
      "EntityDefinitions(LogicalName='contact')/Keys(LogicalName='contact_emailaddress1')",
    )
    expect(one.status).toBe(200)
    expect(one.body['@odata.context']).toMatch(/\/Keys\/\$entity$/)
    const byId = await get(
      `EntityDefinitions(LogicalName='contact')/Keys(${(one.body as { MetadataId: string }).MetadataId})?$select=KeyAttributes`,
    )
    expect(byId.body.KeyAttributes).toEqual(['emailaddress1'])
    expect((await get("EntityDefinitions(LogicalName='contact')/Keys(LogicalName='nope')")).status).toBe(404)
    // a table without keys has an empty collection, and a filter applies
    expect((await get("EntityDefinitions(LogicalName='new_ticket')/Keys")).body.value).toEqual([])
    const filtered = await get(
      "EntityDefinitions(LogicalName='account')/Keys?$filter=EntityKeyIndexStatus eq 'Failed'",
    )
    expect(filtered.body.value).toEqual([])
  })

  it('serves RelationshipDefinitions with typed casts and by SchemaName', async () => {
    const oneToMany = await get(
      'RelationshipDefinitions/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata',
    )
    const rel = (oneToMany.body.value as Json[]).find((r) => r.SchemaName === 'new_account_tickets')
    expect(rel).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata',
      ReferencedEntity: 'account',
      ReferencingEntity: 'new_ticket',
      ReferencingAttribute: 'new_accountid',
      RelationshipType: 'OneToManyRelationship',
    })
    const manyToMany = await get(
      'RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata',
    )
    expect((manyToMany.body.value as Json[]).map((r) => r.SchemaName)).toEqual([
      'systemuserroles_association',
    ])
    const one = await get("RelationshipDefinitions(SchemaName='contact_customer_accounts')")
    expect(one.body).toMatchObject({ ReferencedEntity: 'account', ReferencingAttribute: 'parentcustomerid' })
    const fromEntity = await get(
      "EntityDefinitions(LogicalName='account')/OneToManyRelationships?$select=SchemaName",
    )
    expect((fromEntity.body.value as Json[]).map((r) => r.SchemaName)).toContain('new_account_tickets')
  })

  it('serves GlobalOptionSetDefinitions by Name, and 404 for an unknown one', async () => {
    const res = await get("GlobalOptionSetDefinitions(Name='new_priority')")
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.OptionSetMetadata',
      Name: 'new_priority',
      Options: [
        { Value: 100_000_000, Label: { UserLocalizedLabel: { Label: 'High' } } },
        { Value: 100_000_001 },
      ],
    })
    expect((await get("GlobalOptionSetDefinitions(Name='nope')")).status).toBe(404)
  })

  it('RetrieveMetadataChanges returns a version stamp, and no changes for the current stamp', async () => {
    const first = await get('RetrieveMetadataChanges(Query=@p1)?@p1={}')
    expect(first.status).toBe(200)
    const stamp = first.body.ServerVersionStamp as string
    expect((first.body.EntityMetadata as Json[]).length).toBeGreaterThan(0)
    const again = await get(
      `RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)?@p1={}&@p2='${encodeURIComponent(stamp)}'`,
    )
    expect(again.body).toMatchObject({ ServerVersionStamp: stamp, EntityMetadata: [] })
    const other = await setup({ seed: { sampleData: false } })
    const res = await other.request(`${API}/RetrieveMetadataChanges(Query=@p1)?@p1={}`)
    expect(((await res.json()) as Json).ServerVersionStamp).not.toBe(stamp)
  })

  it('refuses a caller without a role (no read privilege on the definitions) with 403', async () => {
    const bare = await setup({
      seed: { sampleData: false, systemUsers: [{ applicationId: ids.multiTenantAppId, roles: [] }] },
    })
    const res = await bare.request(`${API}/EntityDefinitions(LogicalName='account')`)
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: Json }).error.message).toContain('prvReadEntity')
    const attrs = await env.request(
      `${API}/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='address1_city')`,
    )
    expect(((await attrs.json()) as Json).IsCustomAttribute).toBe(false)
  })

  it('needs an authenticated caller, and every role reads the definitions', async () => {
    const res = await env.request(`${API}/EntityDefinitions`, { token: null })
    expect(res.status).toBe(401)
    // a Basic User (delegated token) reads them too; a user without any role does not
    const read = async (user: string) =>
      (
        await env.request(`${API}/EntityDefinitions(LogicalName='contact')?$select=LogicalName`, {
          token: await env.userToken(user),
        })
      ).status
    expect(await read(ids.users.contosoAlice)).toBe(200)
    expect(await read(ids.users.contosoBob)).toBe(403)
    expect(
      (await env.request(`${API}/EntityDefinitions(LogicalName='account')`, { method: 'DELETE' })).status,
    ).toBe(405)
  })
})
