import { beforeAll, describe, expect, it } from 'vitest'
import { ids, setup } from './test-support.ts'

// Dataverse search (Learn: "Search for Dataverse records", "Dataverse Search query", "Dataverse Search suggest",
// "Dataverse Search autocomplete"): POST /api/search/v2.0/<operation>, the answer's `response` a JSON text.

type Env = Awaited<ReturnType<typeof setup>>
let env: Env
let admin: string
let ownerOnly: string
const ownedRows: Record<string, string> = {}

const seed = {
  roles: [{ name: 'Own Accounts', privileges: ['prvReadAccount:Basic', 'prvReadSystemUser'] }],
  sampleData: false as const,
  rows: {
    accounts: [
      { name: 'Contoso Pharmaceuticals (sample)', telephone1: '555-0100', revenue: 5000 },
      { name: 'Contoso Coffee', accountnumber: 'CC-1', revenue: 100 },
      { name: 'Fourth Coffee (sample)', telephone1: '555-0199', revenue: 2000 },
      { name: 'Litware, Inc.', revenue: 9000 },
    ],
    contacts: [
      { firstname: 'Yvonne', lastname: 'McKay (sample)' },
      { firstname: 'Susanna', lastname: 'Stubberod (sample)' },
      { firstname: 'Nancy', lastname: 'Contoso' },
    ],
  },
}

async function call(
  op: string,
  body: unknown,
  init: { token?: string; headers?: Record<string, string> } = {},
) {
  const res = await env.request(`/api/search/v2.0/${op}`, {
    method: 'POST',
    ...(init.token ? { token: init.token } : {}),
    headers: { 'Content-Type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> }
}

async function response<T = Record<string, unknown>>(op: string, body: unknown, init = {}): Promise<T> {
  const r = await call(op, body, init)
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  expect(typeof r.body.response).toBe('string')
  return JSON.parse(r.body.response as string) as T
}

interface QueryResponse {
  Error: null
  Value: {
    Id: string
    EntityName: string
    ObjectTypeCode: number
    Attributes: Record<string, unknown>
    Highlights: Record<string, string[]>
    Score: number
  }[]
  Facets: Record<string, { value: unknown; count: number }[]>
  QueryContext: null
  Count: number
}

beforeAll(async () => {
  env = await setup({ seed })
  admin = await env.userToken(ids.users.contosoAdmin)
  const [id] = env.org.data.insertRows('systemuser', [{ fullname: 'Olga Own' }])
  ownerOnly = id as string
  const role = (await (
    await env.request(`/api/data/v9.2/roles?$filter=name eq 'Own Accounts'`, { token: admin })
  ).json()) as { value: { roleid: string }[] }
  const assoc = await env.request(
    `/api/data/v9.2/systemusers(${ownerOnly})/systemuserroles_association/$ref`,
    {
      method: 'POST',
      token: admin,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `${env.url}/api/data/v9.2/roles(${role.value[0]?.roleid})` }),
    },
  )
  expect(assoc.status).toBe(204)
  const [owned] = env.org.data.insertRows('account', [
    { name: 'Contoso Owned', 'ownerid@odata.bind': `/systemusers(${ownerOnly})` },
  ])
  ownedRows.contoso = owned as string
})

describe('query', () => {
  it('answers the documented shape: a JSON text with Error, Value, Facets, QueryContext and Count', async () => {
    const r = await call('query', { search: 'Pharmaceuticals' })
    expect(r.status).toBe(200)
    expect(r.body['@odata.context']).toBe(
      `${env.url}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.searchqueryResponse`,
    )
    const parsed = JSON.parse(r.body.response as string) as QueryResponse
    expect(Object.keys(parsed)).toEqual(['Error', 'Value', 'Facets', 'QueryContext', 'Count'])
    expect(parsed.Count).toBe(-1)
    expect(parsed.Value).toHaveLength(1)
    const hit = parsed.Value[0]
    expect(hit).toMatchObject({
      EntityName: 'account',
      ObjectTypeCode: 0,
      Attributes: { '@search.objecttypecode': 1, name: 'Contoso Pharmaceuticals (sample)' },
      Highlights: { name: ['Contoso {crmhit}Pharmaceuticals{/crmhit} (sample)'] },
    })
    expect(hit?.Score).toBeGreaterThan(0)
  })

  it('matches words ignoring case across tables, ranks by score and counts on request', async () => {
    const parsed = await response<QueryResponse>('query', { search: 'contoso', count: true })
    expect(parsed.Count).toBe(4)
    expect(new Set(parsed.Value.map((v) => v.EntityName))).toEqual(new Set(['account', 'contact']))
    const scores = parsed.Value.map((v) => v.Score)
    expect([...scores].sort((a, b) => b - a)).toEqual(scores)
  })

  it('takes entities as a JSON text with selectColumns, searchColumns and filter (Learn example, PascalCase too)', async () => {
    const entities = JSON.stringify([
      {
        Name: 'account',
        SelectColumns: ['name', 'revenue'],
        SearchColumns: ['name'],
        Filter: 'revenue gt 1000',
      },
    ])
    const parsed = await response<QueryResponse>('query', { search: 'contoso', entities, count: true })
    expect(parsed.Value.map((v) => v.Attributes.name)).toEqual(['Contoso Pharmaceuticals (sample)'])
    expect(parsed.Value[0]?.Attributes.revenue).toBe(5000)
    expect(parsed.Value[0]?.Attributes['revenue@OData.Community.Display.V1.FormattedValue']).toBeDefined()
  })

  it('applies the top-level filter, searchmode all, +, - and a trailing wildcard', async () => {
    const entities = JSON.stringify([{ name: 'account' }])
    const names = async (body: Record<string, unknown>) =>
      (await response<QueryResponse>('query', { entities, ...body })).Value.map(
        (v) => v.Attributes.name,
      ).sort()
    expect(await names({ search: 'coffee', filter: 'revenue ge 1000' })).toEqual(['Fourth Coffee (sample)'])
    expect(await names({ search: 'contoso coffee', options: JSON.stringify({ searchmode: 'all' }) })).toEqual(
      ['Contoso Coffee'],
    )
    expect(await names({ search: 'contoso coffee', options: "{'searchmode': 'any'}" })).toHaveLength(4)
    expect(await names({ search: 'contoso -coffee' })).toEqual([
      'Contoso Owned',
      'Contoso Pharmaceuticals (sample)',
    ])
    // `+sample` must match; `coffee` only adds to the score (searchmode any)
    expect(await names({ search: 'coffee +sample' })).toEqual([
      'Contoso Pharmaceuticals (sample)',
      'Fourth Coffee (sample)',
    ])
    expect(await names({ search: 'coffee +sample', options: '{"searchmode":"all"}' })).toEqual([
      'Fourth Coffee (sample)',
    ])
    expect(await names({ search: 'pharm*' })).toEqual(['Contoso Pharmaceuticals (sample)'])
    expect(await names({ search: '"fourth coffee"' })).toEqual(['Fourth Coffee (sample)'])
  })

  it('pages with top and skip, orders by orderby and answers value facets', async () => {
    const entities = JSON.stringify([{ name: 'account', selectColumns: ['name', 'revenue'] }])
    const all = await response<QueryResponse>('query', {
      search: 'contoso coffee',
      entities,
      orderby: JSON.stringify(['revenue desc']),
      count: true,
      facets: JSON.stringify(['entityname,count:10']),
    })
    expect(all.Value.map((v) => v.Attributes.revenue)).toEqual([5000, 2000, 100, null])
    expect(all.Facets.entityname).toEqual([
      { count: 4, from: null, to: null, type: 'Value', value: 'account', optionalvalue: null },
    ])
    const page = await response<QueryResponse>('query', {
      search: 'contoso coffee',
      entities,
      orderby: '["revenue desc"]',
      top: 2,
      skip: 1,
      count: true,
    })
    expect(page.Count).toBe(4)
    expect(page.Value.map((v) => v.Attributes.revenue)).toEqual([2000, 100])
  })

  it('is security-trimmed: only the rows and tables the (impersonated) caller reads', async () => {
    const asOwner = await response<QueryResponse>(
      'query',
      { search: 'contoso' },
      { headers: { MSCRMCallerID: ownerOnly } },
    )
    expect(asOwner.Value.map((v) => v.Id)).toEqual([ownedRows.contoso])
  })

  it('is also the Web API action searchquery', async () => {
    const res = await env.request('/api/data/v9.2/searchquery', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        search: 'Litware',
        options: 'null',
        facets: 'null',
        entities: 'null',
        orderby: 'null',
      }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { response: string }
    expect((JSON.parse(body.response) as QueryResponse).Value.map((v) => v.Attributes.name)).toEqual([
      'Litware, Inc.',
    ])
  })

  it('refuses bad input with documented error shapes and clear messages', async () => {
    const empty = await call('query', { search: '' })
    expect(empty.status).toBe(400)
    expect(empty.body).toEqual({
      error: { code: '0x80040203', message: expect.stringContaining('1 to 100') },
    })
    expect((await call('query', { search: 'x'.repeat(101) })).status).toBe(400)
    const table = await call('query', { search: 'a', entities: JSON.stringify([{ name: 'nosuch' }]) })
    expect(table.body).toEqual({
      error: { code: '0x80040203', message: expect.stringContaining("'nosuch'") },
    })
    const column = await call('query', {
      search: 'a',
      entities: JSON.stringify([{ name: 'account', selectColumns: ['nope'] }]),
    })
    expect(column.status).toBe(400)
    const filter = await call('query', { search: 'a', filter: 'fullname eq 1' })
    expect(filter.body).toEqual({
      error: { code: '0x80040203', message: expect.stringContaining('entities[].filter') },
    })
    expect((await call('query', { search: 'a', top: 101 })).status).toBe(400)
    expect((await env.request('/api/search/v2.0/query')).status).toBe(405)
    expect((await call('nosuch', { search: 'a' })).status).toBe(404)
    expect((await env.request('/api/search/v2.0/query', { method: 'POST', token: null })).status).toBe(401)
  })
})

describe('suggest', () => {
  it('answers Text with the typed start marked and a Document naming the row (Learn example shape)', async () => {
    const parsed = await response<{
      Error: null
      Value: { Text: string; Document: Record<string, unknown> }[]
      QueryContext: null
    }>('suggest', { search: 'Four', top: 3 })
    expect(Object.keys(parsed)).toEqual(['Error', 'Value', 'QueryContext'])
    expect(parsed.Value).toEqual([
      {
        Text: '{crmhit}Four{/crmhit}th Coffee (sample)',
        Document: {
          '@search.objectid': expect.any(String),
          '@search.entityname': 'account',
          '@search.objecttypecode': 1,
          name: 'Fourth Coffee (sample)',
        },
      },
    ])
  })

  it('defaults to five suggestions and needs three characters', async () => {
    const parsed = await response<{ Value: unknown[] }>('suggest', { search: 'sam' })
    expect(parsed.Value.length).toBeLessThanOrEqual(5)
    expect((await call('suggest', { search: 'co' })).status).toBe(400)
  })
})

describe('autocomplete', () => {
  it('completes the last word to the most frequent word that starts with it', async () => {
    const r = await call('autocomplete', { search: 'Con' })
    expect(r.body['@odata.context']).toBe(
      `${env.url}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.searchautocompleteResponse`,
    )
    expect(JSON.parse(r.body.response as string)).toEqual({
      Error: null,
      Value: '{crmhit}contoso{/crmhit}',
      QueryContext: null,
    })
    const two = await response<{ Value: string | null }>('autocomplete', { search: 'fourth cof' })
    expect(two.Value).toBe('fourth {crmhit}coffee{/crmhit}')
    expect((await response<{ Value: string | null }>('autocomplete', { search: 'zzz' })).Value).toBeNull()
  })

  it('only completes from rows the caller reads', async () => {
    const r = await response<{ Value: string | null }>(
      'autocomplete',
      { search: 'lit' },
      { headers: { MSCRMCallerID: ownerOnly } },
    )
    expect(r.Value).toBeNull()
  })
})

describe('legacy /api/search/v1.0 (Learn: Dataverse search (legacy))', () => {
  it('query answers { value, facets, totalrecordcount } with @search.* properties beside the columns', async () => {
    const r = await env.request('/api/search/v1.0/query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        search: 'contoso',
        entities: ['account'],
        returntotalrecordcount: true,
        facets: ['@search.entityname,count:100'],
        orderby: ['@search.score desc', 'name asc'],
        filter: 'account:revenue ge 1000, annotation:objecttypecode eq 1',
      }),
    })
    expect(r.status).toBe(200)
    const body = (await r.json()) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(['value', 'facets', 'totalrecordcount'])
    expect(body.totalrecordcount).toBe(1)
    expect(body.facets).toEqual({ '@search.entityname': [{ Type: 'Value', Value: 'account', Count: 1 }] })
    expect((body.value as Record<string, unknown>[])[0]).toMatchObject({
      '@search.highlights': { name: ['{crmhit}Contoso{/crmhit} Pharmaceuticals (sample)'] },
      '@search.entityname': 'account',
      '@search.objecttypecode': 1,
      name: 'Contoso Pharmaceuticals (sample)',
    })
  })

  it('suggest answers { value: [{ text, document }] } and autocomplete { value }', async () => {
    const post = (op: string, body: object) =>
      env.request(`/api/search/v1.0/${op}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
    const suggested = (await (await post('suggest', { search: 'Lit' })).json()) as {
      value: { text: string; document: Record<string, unknown> }[]
    }
    expect(suggested.value).toEqual([
      {
        text: '{crmhit}Lit{/crmhit}ware, Inc.',
        document: expect.objectContaining({ '@search.entityname': 'account', name: 'Litware, Inc.' }),
      },
    ])
    expect(await (await post('autocomplete', { search: 'lit' })).json()).toEqual({
      value: '{crmhit}litware{/crmhit}',
    })
  })
})
