import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bind,
  type DataverseClient,
  type DataverseError,
  ensureApplicationUser,
  getRootBusinessUnit,
  guid,
  odata,
  verifyAccess,
} from '../src/index.ts'
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

const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as DataverseError,
  )

describe('against the emulator over HTTPS with tokens from @dataverse-s2s/core', () => {
  it('whoAmI names the application user', async () => {
    const who = await client.whoAmI()
    expect(who.userId).toMatch(/^[0-9a-f-]{36}$/)
    const me = await client.retrieve<{ applicationid: string }>('systemusers', who.userId, {
      select: ['applicationid'],
    })
    expect(me.applicationid).toBe(defaultIds.multiTenantAppId)
  })

  it('create, retrieve, update, set/clear a property, delete', async () => {
    const id = await client.create('accounts', { name: "O'Brien & Sons", revenue: 1000, industrycode: 1 })
    const row = await client.retrieve<Record<string, unknown>>('accounts', id, {
      select: ['name', 'revenue', 'industrycode'],
      formattedValues: true,
    })
    expect(row.name).toBe("O'Brien & Sons")
    expect(row['@odata.etag']).toBeTypeOf('string')
    expect(Object.keys(row).some((k) => k.endsWith('@OData.Community.Display.V1.FormattedValue'))).toBe(true)

    const represented = await client.update<{ name: string }>(
      'accounts',
      id,
      { name: 'Renamed' },
      {
        returnRepresentation: true,
        select: ['name'],
      },
    )
    expect(represented.name).toBe('Renamed')
    await client.setProperty('accounts', id, 'description', 'hello')
    expect(
      (await client.retrieve<{ description: string }>('accounts', id, { select: ['description'] }))
        .description,
    ).toBe('hello')
    await client.clearProperty('accounts', id, 'description')
    expect(
      (await client.retrieve<{ description: string | null }>('accounts', id, { select: ['description'] }))
        .description,
    ).toBeNull()

    const created = await client.create<{ accountid: string; name: string }>(
      'accounts',
      { name: 'With body' },
      {
        returnRepresentation: true,
        select: ['name'],
      },
    )
    expect(created.name).toBe('With body')

    await client.delete('accounts', id)
    expect((await caught(client.retrieve('accounts', id)))?.code).toBe('NOT_FOUND')
    expect((await caught(client.update('accounts', id, { name: 'x' })))?.status).toBe(404)
  })

  it('a stale etag gets 412 PRECONDITION_FAILED; conditional GET returns undefined while unchanged', async () => {
    const id = await client.create('accounts', { name: 'etag' })
    const first = await client.retrieve<{ '@odata.etag': string }>('accounts', id, { select: ['name'] })
    const etag = first['@odata.etag']
    expect(await client.retrieveIfChanged('accounts', id, etag, { select: ['name'] })).toBeUndefined()
    await client.update('accounts', id, { name: 'etag 2' }, { ifMatch: etag })
    const error = await caught(client.update('accounts', id, { name: 'etag 3' }, { ifMatch: etag }))
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412, method: 'PATCH' })
    expect((await caught(client.delete('accounts', id, { ifMatch: etag })))?.status).toBe(412)
    expect(await client.retrieveIfChanged('accounts', id, etag, { select: ['name'] })).toMatchObject({
      name: 'etag 2',
    })
  })

  it('upsert by alternate key creates then updates the same row; createOnly and updateOnly are enforced', async () => {
    const key = { accountnumber: "UPS-'1" }
    // Named by its key, the row is named by its key in the answer too (no id): undefined, not the key's text.
    expect(await client.upsert('accounts', key, { name: 'zeroth' })).toBeUndefined()
    const first = await client.upsert<{ accountid: string }>(
      'accounts',
      key,
      { name: 'first' },
      { returnRepresentation: true, select: ['accountid'] },
    )
    const second = await client.upsert<{ accountid: string; name: string }>(
      'accounts',
      key,
      { name: 'second' },
      { returnRepresentation: true, select: ['accountid', 'name'] },
    )
    expect(first.created).toBe(false)
    expect(second).toEqual({
      created: false,
      row: expect.objectContaining({ accountid: first.row.accountid, name: 'second' }),
    })
    expect(first.row.accountid).toMatch(/^[0-9a-f-]{36}$/)
    const fresh = await client.upsert(
      'accounts',
      { accountnumber: 'UPS-2' },
      { name: 'new' },
      { returnRepresentation: true },
    )
    expect(fresh.created).toBe(true)
    expect((await client.retrieve<{ name: string }>('accounts', key, { select: ['name'] })).name).toBe(
      'second',
    )
    expect(await client.count('accounts', { filter: odata`accountnumber eq ${"UPS-'1"}` })).toBe(1)
    // By id: the id comes back.
    expect(await client.upsert('accounts', first.row.accountid, { name: 'by id' })).toBe(first.row.accountid)
    expect(
      (await caught(client.upsert('accounts', key, { name: 'x' }, { mode: 'createOnly' })))?.status,
    ).toBe(412)
    expect(
      (await caught(client.upsert('accounts', { accountnumber: 'NOPE' }, {}, { mode: 'updateOnly' })))
        ?.status,
    ).toBe(404)
  })

  it('binds lookups, associates and disassociates', async () => {
    const accountId = await client.create('accounts', { name: 'Parent' })
    const contactId = await client.create('contacts', {
      lastname: 'Bound',
      'parentcustomerid_account@odata.bind': bind('accounts', accountId),
    })
    const contact = await client.retrieve<{ _parentcustomerid_value: string }>('contacts', contactId, {
      select: ['_parentcustomerid_value'],
    })
    expect(contact._parentcustomerid_value).toBe(accountId)

    await client.associate(
      'accounts',
      accountId,
      'primarycontactid',
      { entitySet: 'contacts', key: contactId },
      { single: true },
    )
    const withPrimary = await client.retrieve<{ _primarycontactid_value: string }>('accounts', accountId, {
      select: ['_primarycontactid_value'],
    })
    expect(withPrimary._primarycontactid_value).toBe(contactId)
    await client.disassociate('accounts', accountId, 'primarycontactid')
    const cleared = await client.retrieve<{ _primarycontactid_value: string | null }>('accounts', accountId, {
      select: ['_primarycontactid_value'],
    })
    expect(cleared._primarycontactid_value).toBeNull()

    const other = await client.create('contacts', { lastname: 'Other' })
    await client.associate('accounts', accountId, 'contact_customer_accounts', {
      entitySet: 'contacts',
      key: other,
    })
    const expanded = await client.retrieve<{ contact_customer_accounts: { contactid: string }[] }>(
      'accounts',
      accountId,
      {
        select: ['name'],
        expand: [{ property: 'contact_customer_accounts', select: ['contactid'] }],
      },
    )
    expect(expanded.contact_customer_accounts.map((c) => c.contactid).sort()).toEqual(
      [contactId, other].sort(),
    )
    await client.disassociate('accounts', accountId, 'contact_customer_accounts', {
      entitySet: 'contacts',
      key: other,
    })
    const after = await client.retrieve<{ _parentcustomerid_value: string | null }>('contacts', other, {
      select: ['_parentcustomerid_value'],
    })
    expect(after._parentcustomerid_value).toBeNull()
  })

  it('pages through 12,000 rows with queryAll, and counts them', async () => {
    const rows = Array.from({ length: 12_000 }, (_, i) => ({ lastname: 'Paging', firstname: `p${i}` }))
    world.emulator.admin.insertRows(defaultIds.contosoOrgId, 'contact', rows)
    const seen = new Set<string>()
    let pages = 0
    for await (const page of client.queryPages<{ firstname: string }>('contacts', {
      select: ['firstname'],
      filter: odata`lastname eq ${'Paging'}`,
    })) {
      pages++
      for (const row of page.value) seen.add(row.firstname)
    }
    expect(seen.size).toBe(12_000)
    expect(pages).toBe(3) // 5,000 per page by default
    let n = 0
    for await (const _ of client.queryAll('contacts', {
      select: ['contactid'],
      filter: odata`lastname eq ${'Paging'}`,
      maxPageSize: 2500,
    }))
      n++
    expect(n).toBe(12_000)
    const page = await client.query('contacts', {
      select: ['contactid'],
      filter: odata`lastname eq ${'Paging'}`,
      count: true,
      top: 10,
    })
    expect(page.value).toHaveLength(10)
    expect(await client.count('contacts', { filter: odata`lastname eq ${'Paging'}` })).toBe(5000) // Dataverse caps $count at 5,000
  })

  it('passes parameter aliases to query functions, on every page and in a count', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      lastname: i % 2 ? "O'Alias" : 'Alias',
      firstname: `a${i}`,
    }))
    world.emulator.admin.insertRows(defaultIds.contosoOrgId, 'contact', rows)
    const filter = 'Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)'
    const aliases = { p1: 'lastname', p2: ["O'Alias", 'Alias'] }
    let n = 0
    let pages = 0
    for await (const page of client.queryPages('contacts', {
      select: ['firstname'],
      filter,
      aliases,
      maxPageSize: 8,
    })) {
      pages++
      n += page.value.length
    }
    expect([n, pages]).toEqual([30, 4])
    expect(
      await client.count('contacts', { filter: 'lastname eq @name', aliases: { name: "O'Alias" } }),
    ).toBe(15)
  })

  it('iterates FetchXML with paging cookies', async () => {
    world.emulator.admin.insertRows(
      defaultIds.contosoOrgId,
      'account',
      Array.from({ length: 1234 }, (_, i) => ({
        name: `fx-${String(i).padStart(4, '0')}`,
        description: 'fetchxml',
      })),
    )
    const xml = `<fetch count="500"><entity name="account"><attribute name="name"/><order attribute="name"/><filter><condition attribute="description" operator="eq" value="fetchxml"/></filter></entity></fetch>`
    const names: string[] = []
    for await (const row of client.fetchXml<{ name: string }>('accounts', xml)) names.push(row.name)
    expect(names).toHaveLength(1234)
    expect(new Set(names).size).toBe(1234)
    expect(names[0]).toBe('fx-0000')
    expect(names.at(-1)).toBe('fx-1233')

    // Longer than a GET URL may be: sent inside a $batch, paging still works.
    const many = Array.from(
      { length: 700 },
      (_, i) => `<condition attribute="name" operator="ne" value="not-a-name-${i}-${'x'.repeat(20)}"/>`,
    ).join('')
    const longXml = xml.replace('<filter>', `<filter>${many}`)
    expect(encodeURIComponent(longXml).length).toBeGreaterThan(40_000)
    const paths: unknown[] = []
    const logged = world.appClient(world.contosoUrl, defaultIds.contosoTenantId, {
      logger: { debug: (_m, f) => paths.push(f.path) },
    })
    let longCount = 0
    for await (const _ of logged.fetchXml('accounts', longXml)) longCount++
    expect(longCount).toBe(1234)
    expect(paths).toEqual(['$batch', '$batch', '$batch'])
  })

  it('counts FetchXML results with returntotalrecordcount (Learn: Count rows using FetchXml)', async () => {
    world.emulator.admin.insertRows(
      defaultIds.contosoOrgId,
      'account',
      Array.from({ length: 7 }, (_, i) => ({ name: `cnt-${i}`, description: 'fetchxml-count' })),
    )
    const xml = `<fetch returntotalrecordcount="true" count="3"><entity name="account"><attribute name="name"/><filter><condition attribute="description" operator="eq" value="fetchxml-count"/></filter></entity></fetch>`
    const page = await client.fetchXmlPage<{ name: string }>('accounts', xml)
    expect(page.value).toHaveLength(3)
    expect(page.moreRecords).toBe(true)
    expect([page.count, page.totalRecordCount, page.totalRecordCountLimitExceeded]).toEqual([7, 7, false])
  })

  it('a batch: change set with Content-ID references, a rolled-back change set, continue-on-error', async () => {
    const batch = client.batch({ continueOnError: true })
    batch.changeSet((cs) => {
      const account = cs.create('accounts', { name: 'Batch parent' })
      cs.create('contacts', { lastname: 'Batch child', 'parentcustomerid_account@odata.bind': account.ref })
    })
    batch.changeSet((cs) => {
      cs.create('accounts', { name: 'Must roll back' })
      cs.update('accounts', '00000000-0000-0000-0000-000000000001', { name: 'missing' })
    })
    batch.query('accounts', { select: ['name'], filter: odata`name eq ${'Batch parent'}` })
    batch.retrieve('accounts', '00000000-0000-0000-0000-000000000002')
    const results = await batch.execute<{ value?: { name: string }[] }>()
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false, true, false])
    expect(results[0]?.ok && results[0].id).toMatch(/^[0-9a-f-]{36}$/)
    const [, , rolledBack, failed, query, missing] = results
    expect(rolledBack?.ok === false && rolledBack.error.code).toBe('BATCH_ROLLED_BACK')
    expect(failed?.ok === false && failed.error.status).toBe(404)
    expect(query?.ok && query.body?.value?.[0]?.name).toBe('Batch parent')
    expect(missing?.ok === false && missing.error.code).toBe('NOT_FOUND')
    expect(await client.count('accounts', { filter: odata`name eq ${'Must roll back'}` })).toBe(0)
    const child = await client.query<{ _parentcustomerid_value: string }>('contacts', {
      select: ['_parentcustomerid_value'],
      filter: odata`lastname eq ${'Batch child'}`,
    })
    expect(child.value[0]?._parentcustomerid_value).toBe(results[0]?.ok ? results[0].id : 'none')
  })

  it('a batch without continue-on-error stops at the first failure and reports the rest as not executed', async () => {
    const batch = client.batch()
    batch.retrieve('accounts', '00000000-0000-0000-0000-000000000003')
    batch.create('accounts', { name: 'never' })
    const results = await batch.execute()
    expect(results).toHaveLength(2)
    expect(results[0]?.ok === false && results[0].error.status).toBe(404)
    expect(results[1]?.ok === false && results[1].error.code).toBe('BATCH_NOT_EXECUTED')
  })

  it('impersonation: allowed for a user with a role, denied for a user without privileges', async () => {
    const alice = client.as({ callerObjectId: defaultIds.users.contosoAlice })
    const who = await alice.whoAmI()
    const appUser = await client.whoAmI()
    expect(who.userId).not.toBe(appUser.userId)
    const id = await alice.create('accounts', { name: 'by alice' })
    const row = await client.retrieve<{ _createdby_value?: string; _ownerid_value?: string }>('accounts', id)
    expect([row._createdby_value, row._ownerid_value]).toContain(who.userId)

    const bob = client.as({ callerObjectId: defaultIds.users.contosoBob })
    const denied = await caught(bob.create('accounts', { name: 'by bob' }))
    expect(denied).toMatchObject({ code: 'FORBIDDEN', status: 403 })
    const perRequest = await caught(
      client.create(
        'accounts',
        { name: 'by bob' },
        {
          impersonate: {
            systemUserId: (await client.as({ callerObjectId: defaultIds.users.contosoBob }).whoAmI()).userId,
          },
        },
      ),
    )
    expect(perRequest?.status).toBe(403)
  })

  it('calls functions and actions', async () => {
    const who = await client.whoAmI()
    const viaFunction = await client.callFunction<{ UserId: string }>('WhoAmI')
    expect(viaFunction.UserId).toBe(who.userId)
  })

  it('verifyAccess reports a healthy app user in Contoso', async () => {
    const report = await verifyAccess(client, { readableEntitySets: ['accounts', 'contacts'] })
    expect(report.problems).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.userId).toBe((await client.whoAmI()).userId)
    // The least-privilege connector role may not read roles, so expected roles cannot be verified: said so, precisely.
    const strict = await verifyAccess(client, {
      expectedRoles: ['Dataverse S2S Connector'],
      readableEntitySets: ['businessunits'],
    })
    expect(strict.ok).toBe(false)
    expect(strict.problems.map((p) => p.kind).sort()).toEqual(['CANNOT_READ', 'CANNOT_VERIFY_ROLES'].sort())
    expect(strict.problems.find((p) => p.kind === 'CANNOT_VERIFY_ROLES')?.message).toContain('prvReadRole')
    // An admin (delegated) can read roles: the report lists them.
    const admin = await verifyAccess(world.userClient(world.contosoUrl, defaultIds.users.contosoAdmin), {
      expectedRoles: ['System Administrator'],
    })
    expect(admin.problems).toEqual([])
    expect(admin.roles).toContain('System Administrator')
  })

  it('provisions the application user in Fabrikam after consent, idempotently', async () => {
    const app = world.appClient(world.fabrikamUrl, defaultIds.fabrikamTenantId)
    world.emulator.admin.grantConsent(defaultIds.fabrikamTenantId, defaultIds.multiTenantAppId)
    const before = await verifyAccess(app)
    expect(before.ok).toBe(false)
    expect(before.problems[0]?.kind).toBe('NO_APPLICATION_USER')

    const admin = world.userClient(world.fabrikamUrl, defaultIds.users.fabrikamAdmin)
    const root = await getRootBusinessUnit(admin)
    const first = await ensureApplicationUser(admin, {
      applicationId: defaultIds.multiTenantAppId,
      roles: ['Dataverse S2S Connector'],
    })
    expect(first).toMatchObject({
      created: true,
      businessUnitId: root.businessUnitId,
      rolesAdded: ['Dataverse S2S Connector'],
    })
    const second = await ensureApplicationUser(admin, {
      applicationId: defaultIds.multiTenantAppId,
      roles: ['Dataverse S2S Connector'],
    })
    expect(second).toMatchObject({ created: false, systemUserId: first.systemUserId, rolesAdded: [] })

    const after = await verifyAccess(app, { readableEntitySets: ['accounts'] })
    expect(after.problems).toEqual([])
    expect(after.userId).toBe(first.systemUserId)
    await expect(app.create('accounts', { name: 'Fabrikam first row' })).resolves.toMatch(/^[0-9a-f-]{36}$/)
    await expect(
      ensureApplicationUser(admin, { applicationId: defaultIds.multiTenantAppId, roles: ['No Such Role'] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    void guid
  })

  it('never re-enables an application user the customer disabled unless asked, and reports it', async () => {
    const admin = world.userClient(world.fabrikamUrl, defaultIds.users.fabrikamAdmin)
    const options = { applicationId: defaultIds.multiTenantAppId, roles: ['Dataverse S2S Connector'] }
    const { systemUserId } = await ensureApplicationUser(admin, options)
    // The customer's emergency stop: their administrator disables the app's application user.
    await admin.update('systemusers', systemUserId, { isdisabled: true })
    const isDisabled = async () =>
      (await admin.retrieve<{ isdisabled: boolean }>('systemusers', systemUserId, { select: ['isdisabled'] }))
        .isdisabled

    const kept = await ensureApplicationUser(admin, options)
    expect(kept).toMatchObject({ created: false, enabled: false, disabled: true, systemUserId })
    expect(await isDisabled()).toBe(true)

    const reenabled = await ensureApplicationUser(admin, { ...options, enable: true })
    expect(reenabled).toMatchObject({ enabled: true, disabled: false })
    expect(await isDisabled()).toBe(false)
  })
})

describe("formatted values follow the acting user's settings", () => {
  it('formats for the impersonated user in their locale, and for the application user in its own', async () => {
    const id = await client.create('accounts', { name: 'Formatted per user', numberofemployees: 9500 })
    const alice = client.as({ callerObjectId: defaultIds.users.contosoAlice })
    const { userId } = await alice.whoAmI()
    world.emulator.admin.insertRows(defaultIds.contosoOrgId, 'usersettings', [
      { systemuserid: userId, localeid: 1036, timezonecode: 105 },
    ])
    const employees = async (c: DataverseClient) =>
      (
        await c.retrieve<Record<string, unknown>>('accounts', id, {
          select: ['numberofemployees'],
          formattedValues: true,
        })
      )['numberofemployees@OData.Community.Display.V1.FormattedValue']
    expect(await employees(alice)).toBe(new Intl.NumberFormat('fr-FR').format(9500))
    expect(await employees(client)).toBe('9,500')
  })
})
