import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './test-support.ts'

// The emulator is as strict as Microsoft's documentation where our client once got it wrong, and accepts the
// documented forms (Power Apps > Dataverse > Web API pages named per case).

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
let env: Env
beforeAll(async () => {
  env = await setup({
    seed: {
      sampleData: false,
      rows: {
        contacts: [
          { firstname: 'Pat', lastname: "O'Brian" },
          { firstname: 'Sam', lastname: 'OBryan' },
          { firstname: 'Kim', lastname: 'Other' },
        ],
        accounts: [
          { name: 'Two', numberofemployees: 2 },
          { name: 'Three', numberofemployees: 3 },
          { name: 'Four', numberofemployees: 4 },
        ],
      },
    },
  })
})

const batchOf = (parts: string[]) => ({
  body: `${parts.map((p) => `--batch_x\r\n${p}`).join('')}--batch_x--\r\n`,
  headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' },
})
/** A GET part with `blank` empty lines between its last header and the next delimiter. */
const getPart = (blank: number) =>
  `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET ${API}/contacts?$select=lastname HTTP/1.1\r\nAccept: application/json\r\n${'\r\n'.repeat(blank)}`

describe('Execute batch operations using the Web API', () => {
  it('serves a GET part followed by two blank lines, as on the batch page', async () => {
    const res = await env.request(`${API}/$batch`, { method: 'POST', ...batchOf([getPart(2)]) })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('HTTP/1.1 200 OK')
  })

  it('serves a GET part followed by one blank line, as in "Use FetchXML within a batch request"', async () => {
    const res = await env.request(`${API}/$batch`, { method: 'POST', ...batchOf([getPart(1), getPart(1)]) })
    expect(res.status).toBe(200)
    expect((await res.text()).match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2)
  })

  it('refuses a GET part whose headers run into the boundary without an empty line', async () => {
    const res = await env.request(`${API}/$batch`, { method: 'POST', ...batchOf([getPart(0)]) })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/empty line/)
  })
})

describe('Filter rows using OData: string arrays of query functions', () => {
  const lastnames = async (filter: string) => {
    const res = await env.request(`${API}/contacts?$select=lastname&$filter=${encodeURIComponent(filter)}`)
    expect(res.status).toBe(200)
    return ((await res.json()) as { value: { lastname: string }[] }).value.map((r) => r.lastname).sort()
  }

  it('reads double-quoted items with single quotes as they are', async () => {
    expect(
      await lastnames(
        `Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=["O'Brian","OBryan"])`,
      ),
    ).toEqual(["O'Brian", 'OBryan'])
  })

  it('still reads single-quoted items with doubled quotes', async () => {
    expect(
      await lastnames(
        `Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=['O''Brian','Other'])`,
      ),
    ).toEqual(["O'Brian", 'Other'])
  })

  it('reads the strings as the column type (PropertyValues is a collection of strings)', async () => {
    const res = await env.request(
      `${API}/accounts?$select=name&$filter=${encodeURIComponent(`Microsoft.Dynamics.CRM.In(PropertyName='numberofemployees',PropertyValues=["2","4"])`)}`,
    )
    expect(res.status).toBe(200)
    const names = ((await res.json()) as { value: { name: string }[] }).value.map((r) => r.name).sort()
    expect(names).toEqual(['Four', 'Two'])
    const bad = await env.request(
      `${API}/accounts?$filter=${encodeURIComponent(`Microsoft.Dynamics.CRM.In(PropertyName='numberofemployees',PropertyValues=["two"])`)}`,
    )
    expect(bad.status).toBe(400)
  })

  it('refuses an unterminated double-quoted item', async () => {
    const res = await env.request(
      `${API}/contacts?$filter=${encodeURIComponent(`Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=["x)`)}`,
    )
    expect(res.status).toBe(400)
  })
})

describe('Use Web API functions: query function parameters passed as aliases', () => {
  const lastnames = async (query: string) => {
    const res = await env.request(`${API}/contacts?$select=lastname&${query}`)
    return {
      status: res.status,
      names: res.ok
        ? ((await res.json()) as { value: { lastname: string }[] }).value.map((r) => r.lastname).sort()
        : [],
      body: res.ok ? '' : await res.text(),
    }
  }
  const q = (filter: string, aliases: Record<string, string>) =>
    [
      `$filter=${encodeURIComponent(filter)}`,
      ...Object.entries(aliases).map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
    ].join('&')

  it('reads PropertyName=@p1,PropertyValues=@p2 with @p1 and @p2 as query parameters', async () => {
    const r = await lastnames(
      q('Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)', {
        '@p1': "'lastname'",
        '@p2': `["O'Brian","Other"]`,
      }),
    )
    expect(r).toMatchObject({ status: 200, names: ["O'Brian", 'Other'] })
  })

  it('reads an alias wherever a value stands, an @ inside its string included', async () => {
    expect((await lastnames(q('lastname eq @last', { '@last': "'OBryan'" }))).names).toEqual(['OBryan'])
    expect((await lastnames(q('lastname eq @v', { '@v': "'pat@contoso.com'" }))).names).toEqual([])
    // a string literal that only looks like an alias is a string
    expect((await lastnames(q("lastname eq '@p1'", { '@p1': "'OBryan'" }))).names).toEqual([])
  })

  it('refuses an alias without a value, or whose value is not a value, at the alias', async () => {
    for (const [filter, aliases] of [
      ['lastname eq @missing', {}],
      ['lastname eq @p1', { '@p1': '@p2', '@p2': "'OBryan'" }],
      ['lastname eq @p1', { '@p1': "'unterminated" }],
    ] as const) {
      const r = await lastnames(q(filter, aliases))
      expect(r.status, filter).toBe(400)
      expect(r.body).toContain(`Syntax error at position ${filter.indexOf('@')} in '${filter}'`)
    }
  })
})
