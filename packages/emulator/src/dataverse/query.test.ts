import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
type Page = {
  value: Record<string, unknown>[]
  '@odata.nextLink'?: string
  '@odata.count'?: number
} & Record<string, unknown>

let env: Env
beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
  const accounts = Array.from({ length: 12_345 }, (_, i) => ({
    name: `Account ${String(i).padStart(5, '0')}`,
    accountnumber: `N-${i}`,
    numberofemployees: i % 100,
    revenue: i * 10,
    address1_city: i % 2 === 0 ? 'Seattle' : 'Paris',
  }))
  env.org.data.insertRows('accounts', accounts)
})

async function get(path: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await env.request(path, { headers })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as Page
}

describe('queries', () => {
  it('pages through 12,345 rows with odata.maxpagesize and @odata.nextLink, each row exactly once', async () => {
    const seen = new Set<string>()
    let url: string | undefined = `${API}/accounts?$select=name,accountnumber`
    let pages = 0
    while (url) {
      // bounded: a nextLink that never ends fails here instead of looping
      expect(pages).toBeLessThan(13)
      const res = await env.request(url, { headers: { Prefer: 'odata.maxpagesize=1000' } })
      expect(res.headers.get('preference-applied')).toBe('odata.maxpagesize=1000')
      const page = (await res.json()) as Page
      for (const r of page.value) {
        expect(seen.has(r.accountid as string)).toBe(false)
        seen.add(r.accountid as string)
      }
      url = page['@odata.nextLink']
      if (url)
        expect(url).toMatch(
          /^https:\/\/localhost:8444\/api\/data\/v9\.2\/accounts\?\$select=name,accountnumber&\$skiptoken=/,
        )
      pages++
    }
    expect(seen.size).toBe(12_345)
    expect(pages).toBe(13)
  })

  it('caps pages at 5,000 by default', async () => {
    const page = await get(`${API}/accounts?$select=name`)
    expect(page.value).toHaveLength(5000)
    expect(page['@odata.nextLink']).toBeDefined()
  })

  it('keeps paging correct with $orderby while rows are inserted and deleted between pages', async () => {
    const filter = "$filter=address1_city eq 'Paris'&$orderby=revenue desc&$select=revenue"
    const first = await get(`${API}/accounts?${filter}`, { Prefer: 'odata.maxpagesize=2000' })
    const last = first.value[first.value.length - 1]?.revenue as number
    // a row that sorts before the cursor must not appear on later pages; one after it must
    env.org.data.insertRows('account', [
      { name: 'early', address1_city: 'Paris', revenue: 999_999_999 },
      { name: 'late', address1_city: 'Paris', revenue: -1 },
    ])
    const values: number[] = first.value.map((r) => r.revenue as number)
    let next = first['@odata.nextLink']
    let pages = 1
    while (next) {
      // bounded: 6,173 rows fit in 4 pages of 2,000; a nextLink that never ends fails here instead of looping
      expect(pages++).toBeLessThan(4)
      const page = await get(next, { Prefer: 'odata.maxpagesize=2000' })
      values.push(...page.value.map((r) => r.revenue as number))
      next = page['@odata.nextLink']
    }
    expect(values.filter((v) => v === 999_999_999)).toHaveLength(0)
    expect(values).toContain(-1)
    expect(values.length).toBe(6172 + 1)
    for (let i = 1; i < values.length; i++)
      expect(values[i - 1] as number).toBeGreaterThanOrEqual(values[i] as number)
    expect(last).toBeGreaterThan(0)
  })

  it('filters, selects, orders, limits and counts', async () => {
    const page = await get(
      `${API}/accounts?$select=name,numberofemployees&$filter=numberofemployees eq 7 and startswith(name,'account 00')&$orderby=name desc&$top=3&$count=true`,
    )
    expect(page['@odata.count']).toBe(10)
    expect(page.value.map((r) => r.name)).toEqual(['Account 00907', 'Account 00807', 'Account 00707'])
    expect(Object.keys(page.value[0] ?? {}).sort()).toEqual([
      '@odata.etag',
      'accountid',
      'name',
      'numberofemployees',
    ])
    expect(page['@odata.context']).toBe(
      'https://localhost:8444/api/data/v9.2/$metadata#accounts(name,numberofemployees)',
    )
    expect(page['@odata.nextLink']).toBeUndefined()
  })

  it('answers /$count as text', async () => {
    const res = await env.request(`${API}/contacts/$count`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('0')
  })

  it('expands a single-valued lookup and a collection, one level deep', async () => {
    const [accountId] = env.org.data.insertRows('account', [{ name: 'Parent Co', accountnumber: 'PARENT' }])
    env.org.data.insertRows('contact', [
      { firstname: 'Ann', lastname: 'One', 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` },
      {
        firstname: 'Ben',
        lastname: 'Two',
        'parentcustomerid_account@odata.bind': `accounts(accountnumber='PARENT')`,
      },
    ])
    const contacts = await get(
      `${API}/contacts?$select=fullname,_parentcustomerid_value&$expand=parentcustomerid_account($select=name)&$orderby=fullname`,
      {
        Prefer:
          'odata.maxpagesize=10, odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"',
      },
    )
    expect(contacts.value[0]).toMatchObject({
      fullname: 'Ann One',
      _parentcustomerid_value: accountId,
      '_parentcustomerid_value@OData.Community.Display.V1.FormattedValue': 'Parent Co',
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
      parentcustomerid_account: { name: 'Parent Co', accountid: accountId },
    })
    const account = (await (
      await env.request(
        `${API}/accounts(${accountId})?$select=name&$expand=contact_customer_accounts($select=fullname;$orderby=fullname desc)`,
      )
    ).json()) as Record<string, unknown>
    expect((account.contact_customer_accounts as { fullname: string }[]).map((c) => c.fullname)).toEqual([
      'Ben Two',
      'Ann One',
    ])
  })

  it('answers $top alone without a nextLink', async () => {
    const page = await get(`${API}/accounts?$top=7&$select=name`)
    expect(page.value).toHaveLength(7)
    expect(page['@odata.nextLink']).toBeUndefined()
  })

  it('runs FetchXML with the paging cookie until morerecords is false', async () => {
    const fetchXml = (page: number, cookie?: string) =>
      `<fetch count="4000" page="${page}"${cookie ? ` paging-cookie="${cookie.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')}"` : ''}><entity name="account"><attribute name="name"/><attribute name="accountid"/><order attribute="name"/><filter type="or"><condition attribute="address1_city" operator="eq" value="Seattle"/><condition attribute="name" operator="like" value="Parent%"/></filter></entity></fetch>`
    let page = 1
    let cookie: string | undefined
    const names: string[] = []
    for (;;) {
      // bounded: morerecords that never turns false fails here instead of looping
      expect(page).toBeLessThanOrEqual(2)
      const body = await get(`${API}/accounts?fetchXml=${encodeURIComponent(fetchXml(page, cookie))}`)
      names.push(...body.value.map((r) => r.name as string))
      if (!body['@Microsoft.Dynamics.CRM.morerecords']) break
      const annotation = body['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie'] as string
      const m = /pagingcookie="([^"]+)"/.exec(annotation)
      cookie = decodeURIComponent(decodeURIComponent(m?.[1] as string))
      expect(cookie).toMatch(
        /^<cookie page="\d+"><accountid last="\{[0-9A-F-]{36}\}" first="\{[0-9A-F-]{36}\}" \/><\/cookie>$/,
      )
      page++
    }
    expect(page).toBe(2)
    expect(names).toHaveLength(6173 + 1)
    expect(new Set(names).size).toBe(names.length)
    expect([...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))).toEqual(names)
  })

  it('omits null attributes in FetchXML results and rejects a mismatched entity', async () => {
    const xml =
      '<fetch top="1"><entity name="account"><attribute name="name"/><attribute name="description"/><filter><condition attribute="accountnumber" operator="eq" value="N-1"/></filter></entity></fetch>'
    const body = await get(`${API}/accounts?fetchXml=${encodeURIComponent(xml)}`)
    expect(body.value).toHaveLength(1)
    expect(body.value[0]).not.toHaveProperty('description')
    const wrong = await env.request(`${API}/contacts?fetchXml=${encodeURIComponent(xml)}`)
    expect(wrong.status).toBe(400)
  })

  it('answers key and lookup equality from indexes, with paging and later changes', async () => {
    const exact = await get(
      `${API}/accounts?$select=name&$filter=accountnumber eq 'n-42' and numberofemployees eq 42`,
    )
    expect(exact.value.map((r) => r.name)).toEqual(['Account 00042'])
    expect(
      (await get(`${API}/accounts?$filter=accountnumber eq 'N-42' and numberofemployees eq 41`)).value,
    ).toHaveLength(0)
    const [parent] = env.org.data.insertRows('account', [{ name: 'Indexed parent' }])
    const bind = { 'parentcustomerid_account@odata.bind': `/accounts(${parent})` }
    env.org.data.insertRows(
      'contact',
      Array.from({ length: 7 }, (_, i) => ({ firstname: `I${i}`, ...bind })),
    )
    const pageOf = async (url: string) => {
      const names: string[] = []
      let next: string | undefined = url
      let pages = 0
      while (next) {
        // bounded: at most 7 rows, 3 pages; a nextLink that never ends fails here instead of looping
        expect(pages++).toBeLessThan(3)
        const page = await get(next, { Prefer: 'odata.maxpagesize=3' })
        names.push(...page.value.map((r) => r.fullname as string))
        next = page['@odata.nextLink']
      }
      return names
    }
    const url = `${API}/contacts?$select=fullname&$filter=_parentcustomerid_value eq ${parent}`
    expect(await pageOf(url)).toEqual(['I0', 'I1', 'I2', 'I3', 'I4', 'I5', 'I6'])
    // the lookup index built by that query follows inserts, updates and deletes
    env.org.data.insertRows('contact', [{ firstname: 'I7', ...bind }])
    const moved = (await get(`${API}/contacts?$select=fullname&$filter=firstname eq 'I0'`)).value[0]
      ?.contactid
    await env.request(`${API}/contacts(${moved})/parentcustomerid_account/$ref`, { method: 'DELETE' })
    expect(await pageOf(`${url}&$orderby=fullname desc`)).toEqual(['I7', 'I6', 'I5', 'I4', 'I3', 'I2', 'I1'])
    expect((await get(`${url}&$count=true&$top=1`))['@odata.count']).toBe(7)
  })

  it('aggregates with $apply: groupby with $count, sum/average/min/max/countdistinct, filter first', async () => {
    const grouped = await get(
      `${API}/accounts?$apply=groupby((address1_city),aggregate($count as count))&$filter=startswith(name,'Account ')`,
    )
    expect(grouped.value).toEqual([
      { address1_city: 'Paris', count: 6172 },
      { address1_city: 'Seattle', count: 6173 },
    ])
    const totals = await get(
      `${API}/accounts?$apply=filter(numberofemployees eq 1)/aggregate(revenue with sum as total,revenue with average as mean,revenue with max as top,numberofemployees with countdistinct as kinds)`,
    )
    const revenues = Array.from({ length: 124 }, (_, k) => (k * 100 + 1) * 10).filter((r) => r / 10 < 12_345)
    expect(totals.value).toEqual([
      {
        total: revenues.reduce((a, b) => a + b, 0),
        mean: revenues.reduce((a, b) => a + b, 0) / revenues.length,
        top: Math.max(...revenues),
        kinds: 1,
      },
    ])
    const res = await env.request(`${API}/accounts?$apply=groupby((createdon))`)
    expect(res.status).toBe(400)
    expect((await env.request(`${API}/accounts?$apply=aggregate(name with sum as x)`)).status).toBe(400)
    expect((await env.request(`${API}/accounts?$apply=groupby((name))&$orderby=name`)).status).toBe(400)
  })

  it('joins with FetchXML link-entity: many-to-one attributes, inner and outer', async () => {
    const [acc] = env.org.data.insertRows('account', [{ name: 'Linked Co', address1_city: 'Oslo' }])
    env.org.data.insertRows('contact', [
      { firstname: 'Linked', lastname: 'Yes', 'parentcustomerid_account@odata.bind': `/accounts(${acc})` },
      { firstname: 'Linked', lastname: 'No' },
    ])
    const xml = (type: string, filter = '') =>
      `<fetch><entity name="contact"><attribute name="fullname"/><order attribute="lastname"/><filter><condition attribute="firstname" operator="eq" value="Linked"/></filter><link-entity name="account" from="accountid" to="parentcustomerid" link-type="${type}" alias="acc"><attribute name="name"/><attribute name="address1_city"/>${filter}</link-entity></entity></fetch>`
    const inner = await get(`${API}/contacts?fetchXml=${encodeURIComponent(xml('inner'))}`)
    expect(inner.value).toEqual([
      expect.objectContaining({
        fullname: 'Linked Yes',
        'acc.name': 'Linked Co',
        'acc.address1_city': 'Oslo',
      }),
    ])
    const outer = await get(`${API}/contacts?fetchXml=${encodeURIComponent(xml('outer'))}`)
    expect(outer.value.map((r) => [r.fullname, r['acc.name']])).toEqual([
      ['Linked No', undefined],
      ['Linked Yes', 'Linked Co'],
    ])
    const filtered = await get(
      `${API}/contacts?fetchXml=${encodeURIComponent(xml('inner', '<filter><condition attribute="address1_city" operator="eq" value="Bergen"/></filter>'))}`,
    )
    expect(filtered.value).toHaveLength(0)
    // one-to-many: accounts that have a contact named Linked Yes
    const reverse = `<fetch><entity name="account"><attribute name="name"/><link-entity name="contact" from="parentcustomerid" to="accountid"><filter><condition attribute="lastname" operator="eq" value="Yes"/></filter></link-entity></entity></fetch>`
    expect(
      (await get(`${API}/accounts?fetchXml=${encodeURIComponent(reverse)}`)).value.map((r) => r.name),
    ).toEqual(['Linked Co'])
  })

  it('answers RetrieveTotalRecordCount with inline names and a parameter alias', async () => {
    const inline = await get(`${API}/RetrieveTotalRecordCount(EntityNames=["account","contact"])`)
    expect(inline.EntityRecordCountCollection).toEqual({
      Count: 2,
      IsReadOnly: false,
      Keys: ['account', 'contact'],
      Values: [env.org.data.count('account'), env.org.data.count('contact')],
    })
    const aliased = await get(
      `${API}/RetrieveTotalRecordCount(EntityNames=@p1)?@p1=${encodeURIComponent('["account"]')}`,
    )
    expect((aliased.EntityRecordCountCollection as { Values: number[] }).Values).toEqual([
      env.org.data.count('account'),
    ])
    expect((await env.request(`${API}/RetrieveTotalRecordCount(EntityNames=["nope"])`)).status).toBe(400)
    expect((await env.request(`${API}/RetrieveTotalRecordCount(Foo=1)`)).status).toBe(400)
  })
})
