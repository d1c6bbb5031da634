import { beforeAll, describe, expect, it } from 'vitest'
import { EmulatorError } from '../errors.ts'
import { ids, setup } from './test-support.ts'

// Record-level Read (Learn, "How record access is determined": the privilege check, then the access check by access
// level). A role holding prvReadContact:Basic reads only the contacts its user owns; the rows a query reaches through
// a lookup path, a lambda, $expand, $apply or a FetchXML link-entity are checked the same way, so a filter on a related
// row the caller cannot read never matches and cannot reveal its values.

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
let env: Env
let admin: string
const user: Record<string, string> = {}
const contact: Record<string, string> = {}

const READERS = ['prvReadAccount', 'prvReadSystemUser']
const seed = {
  businessUnits: [{ name: 'Sales' }, { name: 'Sales West', parent: 'Sales' }],
  roles: [
    { name: 'Own Contacts', privileges: [...READERS, 'prvReadContact:Basic'] },
    { name: 'Unit Contacts', privileges: [...READERS, 'prvReadContact:Local'] },
    { name: 'Unit Tree Contacts', privileges: [...READERS, 'prvReadContact:Deep'] },
    { name: 'Accounts Only', privileges: READERS },
  ],
  sampleData: false as const,
}

async function ok(res: Response): Promise<Record<string, unknown>> {
  expect(res.status, await res.clone().text()).toBeLessThan(300)
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>)
}

/** A system user in a business unit with one role, for the application user to act as (MSCRMCallerID). */
async function addUser(name: string, unit: string, role: string): Promise<string> {
  const bus = (await ok(
    await env.request(`${API}/businessunits?$select=name&$filter=name eq '${unit}'`, { token: admin }),
  )) as { value: { businessunitid: string }[] }
  const bu = bus.value[0]?.businessunitid as string
  const [id] = env.org.data.insertRows('systemuser', [
    { fullname: name, 'businessunitid@odata.bind': `/businessunits(${bu})` },
  ])
  const roles = (await ok(
    await env.request(`${API}/roles?$filter=name eq '${role}' and _businessunitid_value eq ${bu}`, {
      token: admin,
    }),
  )) as { value: { roleid: string }[] }
  await ok(
    await env.request(`${API}/systemusers(${id})/systemuserroles_association/$ref`, {
      method: 'POST',
      token: admin,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `${env.url}${API}/roles(${roles.value[0]?.roleid})` }),
    }),
  )
  return id as string
}

/** GET as the application user acting as `who` (its own role reads every contact: the two intersect). */
const as = (who: string | undefined, path: string) =>
  env.request(`${API}/${path}`, who === undefined ? {} : { headers: { MSCRMCallerID: who } })

async function names(who: string | undefined, path: string): Promise<string[]> {
  const body = (await ok(await as(who, path))) as { value: Record<string, unknown>[] }
  return body.value.map((r) => String(r.name ?? r.fullname)).sort()
}

beforeAll(async () => {
  env = await setup({ seed })
  admin = await env.userToken(ids.users.contosoAdmin)
  user.own = await addUser('Olga Own', 'contoso', 'Own Contacts')
  user.peer = await addUser('Pia Peer', 'contoso', 'Unit Contacts')
  user.sales = await addUser('Sam Sales', 'Sales', 'Unit Contacts')
  user.salesTree = await addUser('Tara Tree', 'Sales', 'Unit Tree Contacts')
  user.west = await addUser('Wes West', 'Sales West', 'Own Contacts')
  user.noContacts = await addUser('Nina None', 'contoso', 'Accounts Only')
  // one account per owner for lookup paths (primarycontactid) and one for the collection (contact_customer_accounts)
  for (const [key, owner] of Object.entries({
    own: user.own,
    peer: user.peer,
    sales: user.sales,
    west: user.west,
  })) {
    const [listed] = env.org.data.insertRows('account', [{ name: `L-${key}` }])
    const [id] = env.org.data.insertRows('contact', [
      {
        firstname: key,
        lastname: 'Contact',
        'ownerid@odata.bind': `/systemusers(${owner})`,
        'parentcustomerid_account@odata.bind': `/accounts(${listed})`,
      },
    ])
    contact[key] = id as string
    env.org.data.insertRows('account', [
      { name: `P-${key}`, 'primarycontactid@odata.bind': `/contacts(${id})` },
    ])
  }
})

const filter = (f: string) => `accounts?$select=name&$filter=${encodeURIComponent(f)}`

describe('Read at user level (prvReadContact:Basic)', () => {
  it('reads only its own contacts, by query, by key and by count', async () => {
    expect(await names(user.own as string, 'contacts?$select=fullname')).toEqual(['own Contact'])
    expect(
      (await ok(await as(user.own as string, `contacts(${contact.own})?$select=fullname`))).fullname,
    ).toBe('own Contact')
    const denied = await as(user.own as string, `contacts(${contact.peer})?$select=fullname`)
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('0x80040220')
    expect(await (await as(user.own as string, 'contacts/$count')).text()).toBe('1')
    // the application user, acting as itself, reads them all
    expect(await names(undefined, 'contacts?$select=fullname')).toHaveLength(4)
  })

  it('does not match a lookup path through a contact someone else owns, and matches through its own', async () => {
    const own = user.own as string
    expect(await names(own, filter("primarycontactid/fullname eq 'peer Contact'"))).toEqual([])
    expect(await names(own, filter("startswith(primarycontactid/fullname,'west')"))).toEqual([])
    expect(await names(own, filter("primarycontactid/fullname eq 'own Contact'"))).toEqual(['P-own'])
    expect(await names(own, filter('primarycontactid/fullname ne null'))).toEqual(['P-own'])
    // the related row is as if absent: its lookup reads null
    expect(await names(own, filter("startswith(name,'P-') and primarycontactid/fullname eq null"))).toEqual([
      'P-peer',
      'P-sales',
      'P-west',
    ])
    // without the restriction the same filter matches
    expect(await names(user.peer as string, filter("primarycontactid/fullname eq 'peer Contact'"))).toEqual([
      'P-peer',
    ])
  })

  it('does not see contacts someone else owns in any / all', async () => {
    const own = user.own as string
    expect(
      await names(own, filter("contact_customer_accounts/any(c: c/fullname eq 'peer Contact')")),
    ).toEqual([])
    expect(await names(own, filter("contact_customer_accounts/any(c: c/fullname eq 'own Contact')"))).toEqual(
      ['L-own'],
    )
    expect(await names(own, filter('contact_customer_accounts/any()'))).toEqual(['L-own'])
    expect(
      await names(
        own,
        filter("startswith(name,'L-') and contact_customer_accounts/all(c: c/firstname eq 'own')"),
      ),
    ).toEqual(['L-own', 'L-peer', 'L-sales', 'L-west'])
  })

  it('does not join a contact someone else owns in a FetchXML link-entity', async () => {
    const fetch = (fullname: string, type: string) =>
      `accounts?fetchXml=${encodeURIComponent(
        `<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="name" operator="like" value="P-%"/></filter><link-entity name="contact" from="contactid" to="primarycontactid" link-type="${type}" alias="c"><attribute name="fullname"/>${fullname ? `<filter><condition attribute="fullname" operator="eq" value="${fullname}"/></filter>` : ''}</link-entity></entity></fetch>`,
      )}`
    const own = user.own as string
    expect(await names(own, fetch('peer Contact', 'inner'))).toEqual([])
    expect(await names(own, fetch('own Contact', 'inner'))).toEqual(['P-own'])
    const outer = (await ok(await as(own, fetch('', 'outer')))) as { value: Record<string, unknown>[] }
    expect(outer.value.map((r) => [r.name, r['c.fullname'] ?? null])).toEqual(
      expect.arrayContaining([
        ['P-own', 'own Contact'],
        ['P-peer', null],
      ]),
    )
  })

  it('expands only the contacts it can read', async () => {
    const body = (await ok(
      await as(
        user.own as string,
        `accounts?$select=name&$filter=${encodeURIComponent("name eq 'P-own' or name eq 'P-peer' or name eq 'L-own' or name eq 'L-peer'")}&$expand=primarycontactid($select=fullname),contact_customer_accounts($select=fullname)&$orderby=name`,
      ),
    )) as { value: Record<string, unknown>[] }
    expect(body.value).toMatchObject([
      { name: 'L-own', primarycontactid: null, contact_customer_accounts: [{ fullname: 'own Contact' }] },
      { name: 'L-peer', contact_customer_accounts: [] },
      { name: 'P-own', primarycontactid: { fullname: 'own Contact' } },
      { name: 'P-peer', primarycontactid: null },
    ])
  })

  it('counts in $apply only the rows it can read, related ones too', async () => {
    const count = async (path: string) =>
      ((await ok(await as(user.own as string, path))) as { value: { n: number }[] }).value[0]?.n
    expect(await count('contacts?$apply=aggregate($count as n)')).toBe(1)
    expect(
      await count(
        `accounts?$apply=${encodeURIComponent("filter(primarycontactid/fullname eq 'peer Contact')/aggregate($count as n)")}`,
      ),
    ).toBe(0)
    expect(
      await count(
        `accounts?$apply=${encodeURIComponent("filter(primarycontactid/fullname eq 'own Contact')/aggregate($count as n)")}`,
      ),
    ).toBe(1)
    // groupby takes the row's own columns only: a path is refused, so it cannot group by a related row's values
    expect(
      (await as(user.own as string, 'accounts?$apply=groupby((primarycontactid/fullname))')).status,
    ).toBe(400)
  })
})

describe('Read at business unit levels', () => {
  it('Local reads the contacts owned in its unit; Deep adds the units below it', async () => {
    expect(await names(user.peer as string, 'contacts?$select=fullname')).toEqual([
      'own Contact',
      'peer Contact',
    ])
    expect(await names(user.sales as string, 'contacts?$select=fullname')).toEqual(['sales Contact'])
    expect(await names(user.salesTree as string, 'contacts?$select=fullname')).toEqual([
      'sales Contact',
      'west Contact',
    ])
    expect(await names(user.west as string, 'contacts?$select=fullname')).toEqual(['west Contact'])
    expect(await names(user.sales as string, filter("primarycontactid/fullname eq 'west Contact'"))).toEqual(
      [],
    )
    expect(
      await names(user.salesTree as string, filter("primarycontactid/fullname eq 'west Contact'")),
    ).toEqual(['P-west'])
  })

  it('reports the levels in RetrieveUserPrivileges', async () => {
    const res = await ok(
      await env.request(`${API}/systemusers(${user.own})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges`, {
        token: admin,
      }),
    )
    const depth = (name: string) =>
      (res.RolePrivileges as { PrivilegeName: string; Depth: string }[]).find((p) => p.PrivilegeName === name)
        ?.Depth
    expect(depth('prvReadContact')).toBe('Basic')
    expect(depth('prvReadAccount')).toBe('Global')
  })
})

describe('no Read privilege on the related table', () => {
  it('is a 403 for a lookup path, a lambda, an $expand, a FetchXML link-entity and an $apply filter', async () => {
    const none = user.noContacts as string
    expect(await names(none, 'accounts?$select=name&$filter=startswith(name,%27P-%27)')).toHaveLength(4)
    const link = `<fetch><entity name="account"><attribute name="name"/><link-entity name="contact" from="contactid" to="primarycontactid" alias="c"/></entity></fetch>`
    for (const path of [
      filter("primarycontactid/fullname eq 'x'"),
      filter('contact_customer_accounts/any()'),
      'accounts?$expand=primarycontactid($select=fullname)',
      `accounts?fetchXml=${encodeURIComponent(link)}`,
      `accounts?$apply=${encodeURIComponent("filter(primarycontactid/fullname eq 'x')/aggregate($count as n)")}`,
    ]) {
      const res = await as(none, path)
      expect(res.status, path).toBe(403)
      expect(((await res.json()) as { error: { message: string } }).error.message, path).toContain(
        'prvReadContact',
      )
    }
  })
})

describe('seeded access levels', () => {
  it('refuses an unknown level', async () => {
    await expect(
      setup({ seed: { roles: [{ name: 'Odd', privileges: ['prvReadContact:Team'] }], sampleData: false } }),
    ).rejects.toThrow(EmulatorError)
  })
})
