import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
const json = { 'Content-Type': 'application/json' }

let env: Env
beforeAll(async () => {
  env = await setup({ seed: { sampleData: { accounts: 5, contacts: 5 } } })
})

const body = async (res: Response) => (await res.json()) as Record<string, unknown>

describe('create', () => {
  it('returns 201 with the entity for Prefer: return=representation, honouring $select', async () => {
    const res = await env.request(`${API}/accounts?$select=name,revenue`, {
      method: 'POST',
      headers: { ...json, Prefer: 'return=representation' },
      body: JSON.stringify({ name: 'Rep', revenue: 12.5, accountnumber: 'REP-1' }),
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('preference-applied')).toBe('return=representation')
    const b = await body(res)
    expect(b['@odata.context']).toBe(
      'https://localhost:8444/api/data/v9.2/$metadata#accounts(name,revenue)/$entity',
    )
    expect(b).toMatchObject({ name: 'Rep', revenue: 12.5 })
    expect(b).not.toHaveProperty('accountnumber')
    expect(b['@odata.etag']).toMatch(/^W\/"\d+"$/)
  })

  it('creates with a client-chosen id and refuses a duplicate id or alternate key with 0x80040237', async () => {
    const id = '11111111-2222-4333-8444-555555555555'
    expect(
      (
        await env.request(`${API}/accounts`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ accountid: id, name: 'a' }),
        })
      ).status,
    ).toBe(204)
    const dup = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ accountid: id, name: 'b' }),
    })
    expect(dup.status).toBe(412)
    expect(((await body(dup)).error as { code: string }).code).toBe('0x80040237')
    const dupKey = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'c', accountnumber: 'REP-1' }),
    })
    expect(dupKey.status).toBe(412)
  })

  it('deep-inserts related rows and binds lookups', async () => {
    const res = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        name: 'Deep',
        primarycontactid: { firstname: 'Pri', lastname: 'Mary' },
        contact_customer_accounts: [
          { firstname: 'C', lastname: 'One' },
          { firstname: 'C', lastname: 'Two' },
        ],
      }),
    })
    expect(res.status).toBe(204)
    const url = res.headers.get('odata-entityid') as string
    const b = await body(
      await env.request(
        `${url}?$select=name&$expand=primarycontactid($select=fullname),contact_customer_accounts($select=fullname)`,
      ),
    )
    expect((b.primarycontactid as { fullname: string }).fullname).toBe('Pri Mary')
    expect((b.contact_customer_accounts as unknown[]).length).toBe(2)
    // Learn (Retrieve a table row, § expanding navigation properties): the selected columns, the expanded properties,
    // then each with its selection: `accounts(name,primarycontactid,primarycontactid(contactid,fullname))/$entity`.
    expect(b['@odata.context']).toBe(
      `${url.slice(0, url.indexOf('/accounts('))}/$metadata#accounts(name,primarycontactid,contact_customer_accounts,primarycontactid(fullname),contact_customer_accounts(fullname))/$entity`,
    )
  })

  // OData 4.0 part 1, 11.4.2: POST to a collection-valued navigation property creates a related entity; Dataverse
  // clients send it (dynamics-web-api's `create({ contentId: '$1', collection: 'contact_customer_accounts' })`).
  it('creates a row related through a collection-valued navigation property (one-to-many and many-to-many)', async () => {
    const account = (
      await env.request(`${API}/accounts`, { method: 'POST', headers: json, body: '{"name":"Parent"}' })
    ).headers.get('odata-entityid') as string
    const res = await env.request(`${account}/contact_customer_accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ firstname: 'Nav', lastname: 'Child' }),
    })
    expect(res.status).toBe(204)
    const child = res.headers.get('odata-entityid') as string
    expect(child).toMatch(/\/contacts\([0-9a-f-]{36}\)$/)
    const accountId = /\(([^)]+)\)$/.exec(account)?.[1]
    expect(await body(await env.request(`${child}?$select=_parentcustomerid_value`))).toMatchObject({
      _parentcustomerid_value: accountId,
    })
    const rep = await env.request(`${account}/contact_customer_accounts?$select=fullname`, {
      method: 'POST',
      headers: { ...json, Prefer: 'return=representation' },
      body: JSON.stringify({ firstname: 'Rep', lastname: 'Child' }),
    })
    expect(rep.status).toBe(201)
    expect(await body(rep)).toMatchObject({ fullname: 'Rep Child' })

    const admin = await env.userToken(ids.users.contosoAdmin)
    const me = await env.whoAmI({ token: admin })
    const bu = (await body(await env.request(`${API}/systemusers(${me})?$select=_businessunitid_value`)))
      ._businessunitid_value as string
    const role = await env.request(`${API}/systemusers(${me})/systemuserroles_association`, {
      method: 'POST',
      headers: json,
      token: admin,
      body: JSON.stringify({
        name: 'Made through N:N',
        'businessunitid@odata.bind': `/businessunits(${bu})`,
      }),
    })
    expect(role.status).toBe(204)
    const roles = await body(
      await env.request(`${API}/systemusers(${me})/systemuserroles_association?$select=name`, {
        token: admin,
      }),
    )
    expect((roles.value as { name: string }[]).map((r) => r.name)).toContain('Made through N:N')
  })

  it('refuses to create a related row without Create on its table, and keeps nothing', async () => {
    const account = (
      await env.request(`${API}/accounts`, { method: 'POST', headers: json, body: '{"name":"No kids"}' })
    ).headers.get('odata-entityid') as string
    const before = env.org.data.count('contact')
    const res = await env.request(`${account}/contact_customer_accounts`, {
      method: 'POST',
      headers: json,
      token: await env.userToken(ids.users.contosoBob),
      body: JSON.stringify({ firstname: 'Denied' }),
    })
    expect(res.status).toBe(403)
    expect(env.org.data.count('contact')).toBe(before)
  })

  it('rolls back a deep insert that fails half-way', async () => {
    const before = env.org.data.count('contact')
    const res = await env.request(`${API}/accounts`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        name: 'Half',
        primarycontactid: { firstname: 'ok' },
        contact_customer_accounts: [{ nope: 1 }],
      }),
    })
    expect(res.status).toBe(400)
    expect(env.org.data.count('contact')).toBe(before)
  })
})

describe('update, upsert and concurrency', () => {
  it('upserts by id: 201 created, then 200 updated with representation; 204 + OData-EntityId without', async () => {
    const id = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'
    const created = await env.request(`${API}/accounts(${id})`, {
      method: 'PATCH',
      headers: { ...json, Prefer: 'return=representation' },
      body: '{"name":"upserted"}',
    })
    expect(created.status).toBe(201)
    const updated = await env.request(`${API}/accounts(${id})`, {
      method: 'PATCH',
      headers: { ...json, Prefer: 'return=representation' },
      body: '{"name":"again"}',
    })
    expect(updated.status).toBe(200)
    const plain = await env.request(`${API}/accounts(${id})`, {
      method: 'PATCH',
      headers: json,
      body: '{"name":"third"}',
    })
    expect(plain.status).toBe(204)
    expect(plain.headers.get('odata-entityid')).toBe(`https://localhost:8444/api/data/v9.2/accounts(${id})`)
  })

  it('upserts by alternate key and honours If-None-Match: * and If-Match: *', async () => {
    const url = `${API}/accounts(accountnumber='ALT-''1')`
    const createOnly = await env.request(url, {
      method: 'PATCH',
      headers: { ...json, 'If-None-Match': '*' },
      body: '{"name":"alt"}',
    })
    expect(createOnly.status).toBe(204)
    // Learn (Use Upsert to Create or Update a record): the answer names the row by the keys it was sent with.
    expect(createOnly.headers.get('odata-entityid')).toBe(
      `https://localhost:8444/api/data/v9.2/accounts(accountnumber='ALT-''1')`,
    )
    const read = await body(await env.request(`${url}?$select=name,accountnumber`))
    expect(read).toMatchObject({ name: 'alt', accountnumber: "ALT-'1" })
    const again = await env.request(url, {
      method: 'PATCH',
      headers: { ...json, 'If-None-Match': '*' },
      body: '{"name":"x"}',
    })
    expect(again.status).toBe(412)
    expect(((await body(again)).error as { message: string }).message).toBe(
      'A record with matching key values already exists.',
    )
    const missing = await env.request(`${API}/accounts(accountnumber='NOPE')`, {
      method: 'PATCH',
      headers: { ...json, 'If-Match': '*' },
      body: '{"name":"x"}',
    })
    expect(missing.status).toBe(404)
  })

  it('answers 304 to If-None-Match with the current ETag and 412 to a stale If-Match on delete', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'etag' }])
    const first = await env.request(`${API}/accounts(${id})?$select=name`)
    const etag = first.headers.get('etag') as string
    const notModified = await env.request(`${API}/accounts(${id})?$select=name`, {
      headers: { 'If-None-Match': etag },
    })
    expect(notModified.status).toBe(304)
    await env.request(`${API}/accounts(${id})`, {
      method: 'PATCH',
      headers: json,
      body: '{"name":"changed"}',
    })
    expect(
      (await env.request(`${API}/accounts(${id})?$select=name`, { headers: { 'If-None-Match': etag } }))
        .status,
    ).toBe(200)
    const stale = await env.request(`${API}/accounts(${id})`, {
      method: 'DELETE',
      headers: { 'If-Match': etag },
    })
    expect(stale.status).toBe(412)
    expect(((await body(stale)).error as { message: string }).message).toContain(
      "doesn't match the RowVersion",
    )
  })

  it('sets and clears one property, and reads it', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'prop', telephone1: '1' }])
    expect(
      (
        await env.request(`${API}/accounts(${id})/telephone1`, {
          method: 'PUT',
          headers: json,
          body: '{"value":"555"}',
        })
      ).status,
    ).toBe(204)
    expect(await body(await env.request(`${API}/accounts(${id})/telephone1`))).toMatchObject({ value: '555' })
    expect((await env.request(`${API}/accounts(${id})/telephone1`, { method: 'DELETE' })).status).toBe(204)
    expect((await env.request(`${API}/accounts(${id})/telephone1`)).status).toBe(204)
  })

  it('binds, rebinds and clears lookups, and sets a single-valued navigation through $ref', async () => {
    const [a, b] = env.org.data.insertRows('account', [{ name: 'A' }, { name: 'B' }])
    const [c] = env.org.data.insertRows('contact', [{ firstname: 'Con' }])
    await env.request(`${API}/contacts(${c})`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ 'parentcustomerid_account@odata.bind': `/accounts(${a})` }),
    })
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBe(a)
    await env.request(`${API}/contacts(${c})/parentcustomerid_account/$ref`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ '@odata.id': `${env.url}/api/data/v9.2/accounts(${b})` }),
    })
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBe(b)
    await env.request(`${API}/contacts(${c})/parentcustomerid_account/$ref`, { method: 'DELETE' })
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBeNull()
    await env.request(`${API}/accounts(${a})/contact_customer_accounts/$ref`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ '@odata.id': `contacts(${c})` }),
    })
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBe(a)
    const dis = await env.request(
      `${API}/accounts(${a})/contact_customer_accounts/$ref?$id=${env.url}/api/data/v9.2/contacts(${c})`,
      { method: 'DELETE' },
    )
    expect(dis.status).toBe(204)
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBeNull()
  })

  it('records modifiedby, modifiedon and a new version on update; clears lookups to a deleted row', async () => {
    const [a] = env.org.data.insertRows('account', [{ name: 'P' }])
    const [c] = env.org.data.insertRows('contact', [
      { firstname: 'X', 'parentcustomerid_account@odata.bind': `/accounts(${a})` },
    ])
    const before = await body(await env.request(`${API}/contacts(${c})?$select=versionnumber,modifiedon`))
    await env.request(`${API}/contacts(${c})`, { method: 'PATCH', headers: json, body: '{"lastname":"Y"}' })
    const after = await body(
      await env.request(`${API}/contacts(${c})?$select=versionnumber,fullname,_modifiedby_value`),
    )
    expect(after.versionnumber as number).toBeGreaterThan(before.versionnumber as number)
    expect(after.fullname).toBe('X Y')
    expect(after._modifiedby_value).toMatch(/^[0-9a-f-]{36}$/)
    expect((await env.request(`${API}/accounts(${a})`, { method: 'DELETE' })).status).toBe(204)
    expect(
      (await body(await env.request(`${API}/contacts(${c})?$select=_parentcustomerid_value`)))
        ._parentcustomerid_value,
    ).toBeNull()
  })
})

describe('custom tables from the seed', () => {
  it('serves a seed-declared table with its alternate key and lookup', async () => {
    const custom = await setup({
      seed: {
        sampleData: false,
        tables: [
          {
            logicalName: 'new_project',
            entitySetName: 'new_projects',
            primaryName: 'new_name',
            columns: [
              { name: 'new_name', type: 'string' },
              { name: 'new_code', type: 'string' },
              { name: 'new_budget', type: 'decimal' },
              {
                name: 'new_accountid',
                type: 'lookup',
                target: 'account',
                reverseNavigation: 'new_account_projects',
              },
            ],
            alternateKeys: [['new_code']],
          },
        ],
        roles: [
          {
            name: 'Projects',
            privileges: [
              'prvReadnew_project',
              'prvCreatenew_project',
              'prvWritenew_project',
              'prvAppendnew_project',
              'prvAppendToAccount',
              'prvReadAccount',
            ],
          },
        ],
      },
    })
    const admin = await custom.userToken('8a9b0c1d-2e3f-4a4b-9c5d-6e7f8a9b0c1d')
    const [acc] = custom.org.data.insertRows('account', [{ name: 'Owner' }])
    const res = await custom.request(`${API}/new_projects(new_code='P-1')`, {
      method: 'PATCH',
      token: admin,
      headers: json,
      body: JSON.stringify({
        new_name: 'Apollo',
        new_budget: 10.5,
        'new_accountid@odata.bind': `/accounts(${acc})`,
      }),
    })
    expect(res.status).toBe(204)
    const page = (await (
      await custom.request(
        `${API}/new_projects?$filter=new_budget gt 10&$expand=new_accountid($select=name)`,
        { token: admin },
      )
    ).json()) as { value: Record<string, unknown>[] }
    expect(page.value[0]).toMatchObject({
      new_name: 'Apollo',
      new_code: 'P-1',
      new_accountid: { name: 'Owner' },
    })
    expect(custom.org.data.listTables()).toContain('new_project')
    // the connector role has no privilege on it
    expect((await custom.request(`${API}/new_projects`)).status).toBe(403)
  })
})

describe('retrieve one row', () => {
  it('answers Preference-Applied with the annotations it included (issue 13, item 10)', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'Pref Ltd' }])
    const prefer = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
    const res = await env.request(`${API}/accounts(${id})?$select=name`, { headers: { Prefer: prefer } })
    expect(res.status).toBe(200)
    expect(res.headers.get('preference-applied')).toBe(prefer)
    const plain = await env.request(`${API}/accounts(${id})?$select=name`)
    expect(plain.headers.get('preference-applied')).toBeNull()
  })
})
