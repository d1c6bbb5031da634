import { beforeAll, describe, expect, it } from 'vitest'
import { batchBody, ids, setup } from './test-support.ts'

// Multi-table lookups (Learn, "Multi-table lookup columns"; "Associate and disassociate table rows using the Web API";
// "Lookup properties"): contact.parentcustomerid is a Customer lookup, an account or a contact, set through
// parentcustomerid_account / parentcustomerid_contact and read back as _parentcustomerid_value with the table in its
// lookuplogicalname annotation. An account and a contact below share one id (SHARED), so only a lookup that keeps
// its table can tell them apart.
const API = '/api/data/v9.2'
const ANNOTATIONS = { Prefer: 'odata.include-annotations="*"' }
const SHARED = '5a5e0000-0000-4000-8000-000000000001'
type Json = Record<string, unknown>

describe('multi-table (Customer) lookups over HTTP', () => {
  let env: Awaited<ReturnType<typeof setup>>
  const send = async (path: string, method = 'GET', body?: unknown, headers: Json = {}) => {
    const res = await env.request(`${API}/${path}`, {
      method,
      headers: headers as Record<string, string>,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json }
  }
  const create = async (set: string, body: Json) => {
    const res = await send(set, 'POST', body, { Prefer: 'return=representation' })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body
  }
  const parentOf = async (id: string) =>
    (await send(`contacts(${id})?$select=_parentcustomerid_value`, 'GET', undefined, ANNOTATIONS)).body
  const ids_ = (body: Json) => (body.value as Json[]).map((r) => r.contactid).sort()
  let account: Json
  let contact: Json
  let toAccount: string
  let toContact: string

  beforeAll(async () => {
    env = await setup({
      seed: {
        sampleData: false,
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
      },
    })
    account = await create('accounts', { accountid: SHARED, name: 'Shared Account' })
    contact = await create('contacts', { contactid: SHARED, firstname: 'Shared', lastname: 'Contact' })
    toAccount = (
      await create('contacts', {
        lastname: 'Employee',
        'parentcustomerid_account@odata.bind': `/accounts(${SHARED})`,
      })
    ).contactid as string
    toContact = (
      await create('contacts', {
        lastname: 'Child',
        'parentcustomerid_contact@odata.bind': `/contacts(${SHARED})`,
      })
    ).contactid as string
  })

  it('reads the value with the table, name and navigation property it points at', async () => {
    expect(account.accountid).toBe(SHARED)
    expect(contact.contactid).toBe(SHARED)
    expect(await parentOf(toContact)).toMatchObject({
      _parentcustomerid_value: SHARED,
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'contact',
      '_parentcustomerid_value@OData.Community.Display.V1.FormattedValue': 'Shared Contact',
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty':
        'parentcustomerid_contact',
    })
    expect(await parentOf(toAccount)).toMatchObject({
      _parentcustomerid_value: SHARED,
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
      '_parentcustomerid_value@OData.Community.Display.V1.FormattedValue': 'Shared Account',
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty':
        'parentcustomerid_account',
    })
  })

  it('expands each navigation property to its own table only', async () => {
    const expand =
      '$select=lastname&$expand=parentcustomerid_contact($select=fullname),parentcustomerid_account($select=name)'
    const child = (await send(`contacts(${toContact})?${expand}`)).body
    expect(child.parentcustomerid_contact).toMatchObject({ contactid: SHARED, fullname: 'Shared Contact' })
    expect(child.parentcustomerid_account).toBeNull()
    const employee = (await send(`contacts(${toAccount})?${expand}`)).body
    expect(employee.parentcustomerid_account).toMatchObject({ accountid: SHARED, name: 'Shared Account' })
    expect(employee.parentcustomerid_contact).toBeNull()
    expect((await send(`contacts(${toContact})/parentcustomerid_account`)).status).toBe(204)
    expect(
      (await send(`contacts(${toContact})/parentcustomerid_contact?$select=fullname`)).body,
    ).toMatchObject({
      fullname: 'Shared Contact',
    })
    expect(
      ((await send(`contacts(${toAccount})/parentcustomerid_contact/$ref`)).body.value as Json[]).length,
    ).toBe(0)
  })

  it('lists only the rows pointing at each table in its collection-valued navigation property', async () => {
    expect(ids_((await send(`accounts(${SHARED})/contact_customer_accounts?$select=lastname`)).body)).toEqual(
      [toAccount],
    )
    expect(ids_((await send(`contacts(${SHARED})/contact_customer_contacts?$select=lastname`)).body)).toEqual(
      [toContact],
    )
    const expanded = await send(
      `contacts(${SHARED})?$select=lastname&$expand=contact_customer_contacts($select=lastname)`,
    )
    expect((expanded.body.contact_customer_contacts as Json[]).map((r) => r.contactid)).toEqual([toContact])
  })

  it('filters on the value and on navigation paths through the right table', async () => {
    const q = (filter: string) => send(`contacts?$select=lastname&$filter=${encodeURIComponent(filter)}`)
    expect(ids_((await q(`_parentcustomerid_value eq ${SHARED}`)).body)).toEqual(
      [toAccount, toContact].sort(),
    )
    expect(ids_((await q("parentcustomerid_contact/fullname eq 'Shared Contact'")).body)).toEqual([toContact])
    expect(ids_((await q("parentcustomerid_account/name eq 'Shared Account'")).body)).toEqual([toAccount])
    expect(ids_((await q('parentcustomerid_contact/contactid ne null')).body)).toEqual([toContact])
    const parents = await send(
      `accounts?$select=name&$filter=${encodeURIComponent("contact_customer_accounts/any(c: c/lastname eq 'Child')")}`,
    )
    expect(parents.body.value).toEqual([])
  })

  it('joins a FetchXML link-entity on the lookup with rows of the linked table only', async () => {
    const fetch = (linked: string, from: string) =>
      `<fetch><entity name="contact"><attribute name="lastname"/><filter><condition attribute="parentcustomerid" operator="not-null"/></filter><link-entity name="${linked}" from="${from}" to="parentcustomerid" alias="p"><attribute name="${from}"/></link-entity></entity></fetch>`
    const viaAccount = await send(`contacts?fetchXml=${encodeURIComponent(fetch('account', 'accountid'))}`)
    expect(ids_(viaAccount.body)).toEqual([toAccount])
    const viaContact = await send(`contacts?fetchXml=${encodeURIComponent(fetch('contact', 'contactid'))}`)
    expect(ids_(viaContact.body)).toEqual([toContact])
    const children = `<fetch><entity name="contact"><attribute name="contactid"/><filter><condition attribute="contactid" operator="eq" value="${SHARED}"/></filter><link-entity name="contact" from="parentcustomerid" to="contactid" alias="c"><attribute name="lastname"/></link-entity></entity></fetch>`
    const joined = await send(`contacts?fetchXml=${encodeURIComponent(children)}`)
    expect((joined.body.value as Json[]).map((r) => r['c.lastname'])).toEqual(['Child'])
  })

  it('refuses a row of another table through a navigation property, and the untyped column name', async () => {
    const wrong = await send('contacts', 'POST', {
      lastname: 'Wrong',
      'parentcustomerid_contact@odata.bind': `/accounts(${SHARED})`,
    })
    expect(wrong.status).toBe(400)
    const untyped = await send('contacts', 'POST', {
      lastname: 'Untyped',
      'parentcustomerid@odata.bind': `/accounts(${SHARED})`,
    })
    expect(untyped.status).toBe(400)
    const direct = await send('contacts', 'POST', { lastname: 'Direct', _parentcustomerid_value: SHARED })
    expect(direct.status).toBe(400)
  })

  it('moves the lookup between tables on update, $ref and associate, and clears it with DELETE $ref', async () => {
    const id = (await create('contacts', { lastname: 'Mover' })).contactid as string
    const table = async () =>
      (await parentOf(id))['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']
    await send(`contacts(${id})`, 'PATCH', { 'parentcustomerid_contact@odata.bind': `/contacts(${SHARED})` })
    expect(await table()).toBe('contact')
    await send(`contacts(${id})`, 'PATCH', { 'parentcustomerid_account@odata.bind': `accounts(${SHARED})` })
    expect(await table()).toBe('account')
    const put = await send(`contacts(${id})/parentcustomerid_contact/$ref`, 'PUT', {
      '@odata.id': `${env.url}${API}/contacts(${SHARED})`,
    })
    expect(put.status).toBe(204)
    expect(await table()).toBe('contact')
    // the account's navigation does not hold this contact now: removing it there changes nothing
    expect((await send(`contacts(${id})/parentcustomerid_account/$ref`, 'DELETE')).status).toBe(204)
    expect(await table()).toBe('contact')
    const associate = await send(`accounts(${SHARED})/contact_customer_accounts/$ref`, 'POST', {
      '@odata.id': `${env.url}${API}/contacts(${id})`,
    })
    expect(associate.status).toBe(204)
    expect(await table()).toBe('account')
    // disassociating through the contact's relationship leaves a lookup to the account alone
    await send(`contacts(${SHARED})/contact_customer_contacts(${id})/$ref`, 'DELETE')
    expect(await table()).toBe('account')
    expect((await send(`contacts(${id})/parentcustomerid_account/$ref`, 'DELETE')).status).toBe(204)
    expect((await parentOf(id))._parentcustomerid_value).toBeNull()
    await send(`contacts(${id})`, 'DELETE')
  })

  it('points rows made by deep insert, POST to the relationship and $batch at the right table', async () => {
    const parent = await create('contacts', {
      lastname: 'Deep',
      parentcustomerid_contact: { lastname: 'Inserted parent' },
      contact_customer_contacts: [{ lastname: 'Inserted child' }],
    })
    const parentInfo = await parentOf(parent.contactid as string)
    expect(parentInfo['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact')
    expect(parentInfo['_parentcustomerid_value@OData.Community.Display.V1.FormattedValue']).toBe(
      'Inserted parent',
    )
    const children = await send(`contacts(${parent.contactid})/contact_customer_contacts?$select=lastname`)
    expect((children.body.value as Json[]).map((r) => r.lastname)).toEqual(['Inserted child'])
    const related = await send(
      `contacts(${parent.contactid})/contact_customer_contacts`,
      'POST',
      { lastname: 'Posted child' },
      { Prefer: 'return=representation' },
    )
    expect(related.status).toBe(201)
    expect(
      (await parentOf(related.body.contactid as string))[
        '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'
      ],
    ).toBe('contact')

    const batch = batchBody([
      [
        { method: 'POST', url: `${API}/contacts`, body: { lastname: 'Batch parent' }, contentId: 1 },
        {
          method: 'POST',
          url: `${API}/contacts`,
          body: { lastname: 'Batch child', 'parentcustomerid_contact@odata.bind': '$1' },
          contentId: 2,
        },
      ],
    ])
    const res = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': batch.contentType },
      body: batch.body,
    })
    expect(res.status).toBe(200)
    const found = await send(
      `contacts?$select=lastname&$filter=${encodeURIComponent("parentcustomerid_contact/lastname eq 'Batch parent'")}`,
    )
    expect((found.body.value as Json[]).map((r) => r.lastname)).toEqual(['Batch child'])
  })

  it('keeps the table in change tracking and in a saved state, and reads older state as the first target', async () => {
    const track = await send('contacts?$select=lastname,_parentcustomerid_value', 'GET', undefined, {
      Prefer: 'odata.track-changes,odata.include-annotations="*"',
    })
    const row = (track.body.value as Json[]).find((r) => r.contactid === toContact)
    expect(row?.['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact')

    const saved = JSON.parse(JSON.stringify(env.org.snapshot())) as {
      tables: Record<string, { columns: string[]; rows: unknown[][] }>
    }
    const restored = await setup({ seed: { sampleData: false }, url: 'https://localhost:8445' })
    restored.org.restore(saved)
    const read = async (e: typeof restored, id: string) =>
      (await (
        await e.request(`${API}/contacts(${id})?$select=_parentcustomerid_value`, { headers: ANNOTATIONS })
      ).json()) as Json
    expect(
      (await read(restored, toContact))['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'],
    ).toBe('contact')
    expect(
      (await read(restored, toAccount))['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'],
    ).toBe('account')

    // a state saved before parentcustomerid had two targets has no parentcustomeridtype: its values are accounts
    const contacts = saved.tables.contact as { columns: string[]; rows: unknown[][] }
    const slot = contacts.columns.indexOf('parentcustomeridtype')
    expect(slot).toBeGreaterThan(0)
    contacts.columns.splice(slot, 1)
    for (const r of contacts.rows) r.splice(slot, 1)
    restored.org.restore(saved)
    expect(
      (await read(restored, toAccount))['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname'],
    ).toBe('account')
  })

  it('describes the column as a Customer lookup with both targets and both relationships', async () => {
    const attribute = await send(
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='parentcustomerid')",
    )
    expect(attribute.body).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.LookupAttributeMetadata',
      AttributeType: 'Customer',
      AttributeTypeName: { Value: 'CustomerType' },
      Targets: ['account', 'contact'],
    })
    for (const [name, referenced, navigation] of [
      ['contact_customer_accounts', 'account', 'parentcustomerid_account'],
      ['contact_customer_contacts', 'contact', 'parentcustomerid_contact'],
    ]) {
      const rel = await send(`RelationshipDefinitions(SchemaName='${name}')`)
      expect(rel.body).toMatchObject({
        ReferencedEntity: referenced,
        ReferencingEntity: 'contact',
        ReferencingAttribute: 'parentcustomerid',
        ReferencedEntityNavigationPropertyName: name,
        ReferencingEntityNavigationPropertyName: navigation,
      })
    }
  })

  it('clears only the lookups that point at a deleted row', async () => {
    const other = (
      await create('contacts', {
        lastname: 'Other child',
        'parentcustomerid_contact@odata.bind': `/contacts(${SHARED})`,
      })
    ).contactid as string
    expect((await send(`contacts(${SHARED})`, 'DELETE')).status).toBe(204)
    expect((await parentOf(other))._parentcustomerid_value).toBeNull()
    expect((await parentOf(toContact))._parentcustomerid_value).toBeNull()
    expect(await parentOf(toAccount)).toMatchObject({
      _parentcustomerid_value: SHARED,
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
    })
  })
})

describe('multi-table lookups declared by a seed', () => {
  it('names a navigation property and a relationship per target, and a customer column targets account and contact', async () => {
    const env = await setup({
      url: 'https://localhost:8446',
      seed: {
        sampleData: false,
        tables: [
          { logicalName: 'new_book' },
          { logicalName: 'new_device' },
          {
            logicalName: 'new_checkout',
            columns: [
              {
                name: 'new_itemid',
                type: 'lookup',
                targets: ['new_book', { table: 'new_device', reverseNavigation: 'new_device_checkouts' }],
              },
              { name: 'new_customerid', type: 'customer' },
            ],
          },
        ],
        rows: {
          new_books: [{ new_bookid: SHARED, name: 'Book' }],
          new_devices: [{ new_deviceid: SHARED, name: 'Device' }],
        },
        systemUsers: [{ applicationId: ids.multiTenantAppId, roles: ['System Administrator'] }],
      },
    })
    const post = await env.request(`${API}/new_checkouts`, {
      method: 'POST',
      headers: { Prefer: 'return=representation' },
      body: JSON.stringify({
        name: 'c1',
        'new_itemid_new_device@odata.bind': `/new_devices(${SHARED})`,
        'new_customerid_contact@odata.bind': `/contacts(${SHARED})`,
      }),
    })
    expect(post.status).toBe(404) // the contact does not exist
    const ok = await env.request(`${API}/new_checkouts?$select=name,_new_itemid_value`, {
      method: 'POST',
      headers: { Prefer: 'return=representation,odata.include-annotations="*"' },
      body: JSON.stringify({ name: 'c1', 'new_itemid_new_device@odata.bind': `/new_devices(${SHARED})` }),
    })
    const row = (await ok.json()) as Json
    expect(row).toMatchObject({
      '_new_itemid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'new_device',
      '_new_itemid_value@OData.Community.Display.V1.FormattedValue': 'Device',
    })
    const devices = await env.request(`${API}/new_devices(${SHARED})/new_device_checkouts?$select=name`)
    expect(((await devices.json()) as Json).value).toHaveLength(1)
    const books = await env.request(
      `${API}/new_books(${SHARED})/new_checkout_new_itemid_new_book?$select=name`,
    )
    expect(((await books.json()) as Json).value).toHaveLength(0)
    const attrs = await env.request(
      `${API}/EntityDefinitions(LogicalName='new_checkout')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,AttributeType,Targets`,
    )
    const byName = Object.fromEntries(
      ((await attrs.json()) as { value: Json[] }).value.map((a) => [a.LogicalName, a]),
    )
    expect(byName.new_itemid).toMatchObject({ AttributeType: 'Lookup', Targets: ['new_book', 'new_device'] })
    expect(byName.new_customerid).toMatchObject({
      AttributeType: 'Customer',
      Targets: ['account', 'contact'],
    })
  })
})
