import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { setup } from './test-support.ts'

const API = '/api/data/v9.2'
type Env = Awaited<ReturnType<typeof setup>>
const json = { 'Content-Type': 'application/json' }
const ACCOUNT = '11111111-1111-4111-8111-111111111111'

let env: Env
beforeAll(async () => {
  env = await setup({ seed: { sampleData: false } })
  env.org.data.insertRows('account', [{ accountid: ACCOUNT, name: 'target', accountnumber: 'T-1' }])
})

async function expectDataverse4xx(res: Response, status?: number, code?: string): Promise<void> {
  const text = await res.text()
  expect(res.status, text).toBeGreaterThanOrEqual(400)
  expect(res.status, text).toBeLessThan(500)
  if (status) expect(res.status, text).toBe(status)
  const body = JSON.parse(text) as { error: { code: string; message: string } }
  expect(typeof body.error.code).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  if (code) expect(body.error.code).toBe(code)
}

describe('bad input gets a Dataverse-shaped 4xx', () => {
  const cases: [string, string, RequestInit, number, string?][] = [
    [
      'malformed JSON',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '{"name":' },
      400,
      '0x80048d19',
    ],
    [
      'a JSON array body',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '[1]' },
      400,
      '0x80048d19',
    ],
    ['an empty body', `${API}/accounts`, { method: 'POST', headers: json, body: '' }, 400, '0x80048d19'],
    [
      'an unknown column in the body',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '{"Name":"x"}' },
      400,
      '0x80048d19',
    ],
    [
      'a wrong type',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '{"revenue":"lots"}' },
      400,
      '0x80048d19',
    ],
    [
      'a too long string',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: JSON.stringify({ accountnumber: 'x'.repeat(21) }) },
      400,
      '0x80044331',
    ],
    [
      'an int overflow',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '{"numberofemployees":99999999999}' },
      400,
    ],
    [
      'a bind to a missing row',
      `${API}/accounts`,
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          'primarycontactid@odata.bind': '/contacts(22222222-2222-4222-8222-222222222222)',
        }),
      },
      404,
      '0x80040217',
    ],
    [
      'a bind to the wrong table',
      `${API}/accounts`,
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ 'primarycontactid@odata.bind': `/accounts(${ACCOUNT})` }),
      },
      400,
    ],
    [
      'a bind that is not a URL',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: JSON.stringify({ 'primarycontactid@odata.bind': 42 }) },
      400,
    ],
    ['an unknown table', `${API}/Account`, {}, 404, '0x8006088a'],
    ['an unknown version', '/api/data/v8.0/accounts', {}, 404],
    ['an unknown column in $select', `${API}/accounts?$select=Name`, {}, 400, '0x0'],
    ['an unknown column in $filter', `${API}/accounts?$filter=nope eq 1`, {}, 400, '0x0'],
    ['bad $filter syntax', `${API}/accounts?$filter=name eq`, {}, 400, '0x80060888'],
    ['a type mismatch in $filter', `${API}/accounts?$filter=name eq 5`, {}, 400, '0x80060888'],
    ['bad $orderby', `${API}/accounts?$orderby=name sideways`, {}, 400],
    ['bad $top', `${API}/accounts?$top=-1`, {}, 400],
    ['bad $count', `${API}/accounts?$count=maybe`, {}, 400],
    ['$skip', `${API}/accounts?$skip=10`, {}, 400],
    ['an unknown query option', `${API}/accounts?$search=x`, {}, 400],
    [
      'a nested $expand',
      `${API}/accounts?$expand=primarycontactid($expand=parentcustomerid_account)`,
      {},
      400,
    ],
    ['an unknown navigation in $expand', `${API}/accounts?$expand=nothing`, {}, 400],
    ['a forged $skiptoken', `${API}/accounts?$skiptoken=abc`, {}, 400],
    [
      'a well-formed $skiptoken for another $orderby',
      `${API}/accounts?$orderby=name&$skiptoken=${encodeURIComponent(`<cookie pagenumber="2" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="1" emulator="${Buffer.from(JSON.stringify([1, [42]])).toString('base64url')}" />`))}" istracking="False" />`)}`,
      {},
      400,
    ],
    ['a malformed GUID key', `${API}/accounts(1234)`, {}, 400],
    ['an unknown alternate key', `${API}/accounts(name='x')`, {}, 400],
    ['an unterminated key', `${API}/accounts(accountnumber='x)`, {}, 400],
    ['the named primary key of systemusers', `${API}/systemusers(systemuserid=${ACCOUNT})`, {}, 400],
    ['a missing row', `${API}/accounts(33333333-3333-4333-8333-333333333333)`, {}, 404, '0x80040217'],
    ['a missing row by key', `${API}/accounts(accountnumber='NONE')`, {}, 404, '0x80040217'],
    ['an unknown property segment', `${API}/accounts(${ACCOUNT})/nope`, {}, 404],
    ['POST to WhoAmI', `${API}/WhoAmI`, { method: 'POST', headers: json, body: '{}' }, 404, ''],
    ['PUT on an entity set', `${API}/accounts`, { method: 'PUT', headers: json, body: '{}' }, 405],
    ['bad percent-encoding', `${API}/accounts(accountnumber='%E0%A4%A')`, {}, 400],
    [
      'malformed FetchXML',
      `${API}/accounts?fetchXml=${encodeURIComponent('<fetch><entity name="account">')}`,
      {},
      400,
    ],
    [
      'an unsupported FetchXML operator',
      `${API}/accounts?fetchXml=${encodeURIComponent('<fetch><entity name="account"><filter><condition attribute="name" operator="under" value="x"/></filter></entity></fetch>')}`,
      {},
      400,
    ],
    [
      '$ref with a bad body',
      `${API}/accounts(${ACCOUNT})/contact_customer_accounts/$ref`,
      { method: 'POST', headers: json, body: '{"@odata.id":5}' },
      400,
    ],
    [
      'setting the primary key through PUT',
      `${API}/accounts(${ACCOUNT})/accountid`,
      { method: 'PUT', headers: json, body: '{"value":"x"}' },
      400,
    ],
    [
      'a lookup value in the body',
      `${API}/accounts`,
      { method: 'POST', headers: json, body: '{"_primarycontactid_value":"x"}' },
      400,
    ],
    ['a non-API path', '/favicon.ico', {}, 404],
  ]
  for (const [name, path, init, status, code] of cases) {
    it(name, async () => {
      await expectDataverse4xx(await env.request(path, init), status, code)
    })
  }

  it('leaves the data untouched after all of that', async () => {
    expect(env.org.data.count('account')).toBe(1)
    const row = (await (
      await env.request(`${API}/accounts(${ACCOUNT})?$select=name,accountnumber`)
    ).json()) as Record<string, unknown>
    expect(row).toMatchObject({ name: 'target', accountnumber: 'T-1' })
  })

  it('never answers 5xx to arbitrary paths, query strings, methods and bodies', async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        'accounts',
        'contacts',
        'systemusers',
        'roles',
        'WhoAmI',
        '$metadata',
        '$count',
        '$ref',
        '$batch',
        `accounts(${ACCOUNT})`,
        "accounts(accountnumber='T-1')",
        'name',
        'primarycontactid',
        'contact_customer_accounts',
      ),
      fc.string({ maxLength: 12 }),
    )
    const query = fc.oneof(
      fc.constant(''),
      fc
        .constantFrom(
          '$filter=',
          '$select=',
          '$orderby=',
          '$expand=',
          '$top=',
          '$count=',
          'fetchXml=',
          '$skiptoken=',
        )
        .chain((k) => fc.string({ maxLength: 30 }).map((v) => `?${k}${encodeURIComponent(v)}`)),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        query,
        fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
        fc.oneof(fc.constant(undefined), fc.json(), fc.string({ maxLength: 40 })),
        async (segments, q, method, body) => {
          const path = `${API}/${segments.map((s) => encodeURIComponent(s).replaceAll('%24', '$').replaceAll('%28', '(').replaceAll('%29', ')').replaceAll('%27', "'").replaceAll('%3D', '=')).join('/')}${q}`
          const res = await env.request(path, {
            method,
            headers: json,
            ...(method === 'GET' || body === undefined ? {} : { body }),
          })
          expect(res.status, `${method} ${path}`).toBeLessThan(500)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('never answers 5xx to skiptokens carrying arbitrary cursor state', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom('', '&$orderby=name', '&$orderby=revenue desc,name', '&$orderby=createdon'),
        async (state, order) => {
          const inner = `<cookie page="1" emulator="${Buffer.from(JSON.stringify(state)).toString('base64url')}" />`
          const token = `<cookie pagenumber="2" pagingcookie="${encodeURIComponent(encodeURIComponent(inner))}" istracking="False" />`
          const res = await env.request(
            `${API}/accounts?$select=name${order}&$skiptoken=${encodeURIComponent(token)}`,
          )
          expect(res.status).toBeLessThan(500)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('accepts the named primary key form for other tables', async () => {
    const [id] = env.org.data.insertRows('account', [{ name: 'named key' }])
    const res = await env.request(`${API}/accounts(accountid=${id})?$select=name`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { name: string }).name).toBe('named key')
  })
})
