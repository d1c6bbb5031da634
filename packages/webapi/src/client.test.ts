import { describe, expect, it, vi } from 'vitest'
import { bounded, guarded } from '../test/runaway.ts'
import { createDataverseClient } from './client.ts'
import { DataverseError, isDataverseError } from './errors.ts'
import { odata } from './filter.ts'
import type { DataverseClientOptions } from './types.ts'

const ORG = 'https://contoso.crm.dynamics.com'
const TOKEN = 'secret-token-value'
const ID = '11111111-2222-3333-4444-555555555555'

type Handler = (request: Request, n: number) => Response | Promise<Response>

function harness(handler: Handler, options: Partial<DataverseClientOptions> = {}) {
  const requests: Request[] = []
  const tokenCalls: { resource: string; forceRefresh: boolean }[] = []
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    requests.push(request.clone())
    return handler(request, requests.length)
  }) as typeof globalThis.fetch
  const client = guarded(
    createDataverseClient({
      url: ORG,
      getToken: bounded((resource, o) => {
        tokenCalls.push({ resource, forceRefresh: o.forceRefresh })
        return o.forceRefresh ? `${TOKEN}-2` : TOKEN
      }),
      fetch,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    }),
  )
  return { client, requests, tokenCalls }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const odataError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json({ error: { code, message } }, status, headers)

describe('records', () => {
  it('create sends the OData headers and the JSON body, and returns the id from OData-EntityId', async () => {
    const { client, requests, tokenCalls } = harness(
      () =>
        new Response(null, {
          status: 204,
          headers: { 'OData-EntityId': `${ORG}/api/data/v9.2/accounts(${ID})` },
        }),
    )
    expect(await client.create('accounts', { name: "O'Neil & Co" })).toBe(ID)
    const r = requests[0] as Request
    expect(r.method).toBe('POST')
    expect(r.url).toBe(`${ORG}/api/data/v9.2/accounts`)
    expect(r.headers.get('authorization')).toBe(`Bearer ${TOKEN}`)
    expect(r.headers.get('odata-version')).toBe('4.0')
    expect(r.headers.get('odata-maxversion')).toBe('4.0')
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await r.json()).toEqual({ name: "O'Neil & Co" })
    expect(tokenCalls).toEqual([{ resource: ORG, forceRefresh: false }])
  })

  it('create with returnRepresentation asks for it and returns the row', async () => {
    const { client, requests } = harness(() => json({ accountid: ID, name: 'x' }, 201))
    const row = await client.create(
      'accounts',
      { name: 'x' },
      { returnRepresentation: true, select: ['name'] },
    )
    expect(row).toEqual({ accountid: ID, name: 'x' })
    expect(requests[0]?.headers.get('prefer')).toBe('return=representation')
    expect(requests[0]?.url).toContain('?$select=name')
  })

  it('update sends If-Match: * unless an etag is given; upsert modes set the conditional headers', async () => {
    const { client, requests } = harness(
      () =>
        new Response(null, {
          status: 204,
          headers: { 'OData-EntityId': `${ORG}/api/data/v9.2/accounts(${ID})` },
        }),
    )
    await client.update('accounts', ID, { name: 'a' })
    await client.update('accounts', ID, { name: 'a' }, { ifMatch: 'W/"12"' })
    expect(await client.upsert('accounts', { accountnumber: "A'1" }, { name: 'b' })).toBe(ID)
    await client.upsert('accounts', ID, {}, { mode: 'createOnly' })
    await client.upsert('accounts', ID, {}, { mode: 'updateOnly' })
    expect(requests.map((r) => r.headers.get('if-match'))).toEqual(['*', 'W/"12"', null, null, '*'])
    expect(requests[3]?.headers.get('if-none-match')).toBe('*')
    expect(decodeURIComponent(new URL(requests[2]?.url as string).pathname)).toBe(
      "/api/data/v9.2/accounts(accountnumber='A''1')",
    )
  })

  it('rejects keys and names that could inject URL syntax, before sending anything', async () => {
    const { client, requests } = harness(() => json({}))
    await expect(client.retrieve('accounts', "x') or (1")).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(client.retrieve('accounts?$top=1', ID)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(client.retrieve('accounts', { 'a=1': 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect(requests).toHaveLength(0)
  })

  it('associate posts an absolute @odata.id; disassociate deletes the $ref', async () => {
    const { client, requests } = harness(() => new Response(null, { status: 204 }))
    await client.associate('systemusers', ID, 'systemuserroles_association', { entitySet: 'roles', key: ID })
    await client.disassociate('systemusers', ID, 'systemuserroles_association', {
      entitySet: 'roles',
      key: ID,
    })
    await client.setProperty('accounts', ID, 'name', 'n')
    await client.clearProperty('accounts', ID, 'description')
    expect(await requests[0]?.json()).toEqual({ '@odata.id': `${ORG}/api/data/v9.2/roles(${ID})` })
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname.slice(15)}`)).toEqual([
      `POST systemusers(${ID})/systemuserroles_association/$ref`,
      `DELETE systemusers(${ID})/systemuserroles_association(${ID})/$ref`,
      `PUT accounts(${ID})/name`,
      `DELETE accounts(${ID})/description`,
    ])
  })
})

describe('queries', () => {
  it('queryAll follows nextLink verbatim with the same page size and stops on the last page', async () => {
    const { client, requests } = harness((_r, n) =>
      n < 3
        ? json({
            value: [{ i: n * 2 - 1 }, { i: n * 2 }],
            '@odata.nextLink': `${ORG}/api/data/v9.2/accounts?$skiptoken=${n}`,
          })
        : json({ value: [{ i: 5 }] }),
    )
    const rows: unknown[] = []
    for await (const row of client.queryAll('accounts', {
      select: ['name'],
      filter: odata`name eq ${'a'}`,
      maxPageSize: 2,
    }))
      rows.push(row)
    expect(rows).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { i: 5 }])
    expect(requests[1]?.url).toBe(`${ORG}/api/data/v9.2/accounts?$skiptoken=1`)
    expect(requests.map((r) => r.headers.get('prefer'))).toEqual(Array(3).fill('odata.maxpagesize=2'))
  })

  it('refuses a nextLink to another origin (the token must not leave the org)', async () => {
    // Bounded: the fake org hands out the foreign link once; a client that follows it gets a failure, not an
    // endless loop, so a broken refusal fails this test on its assertion instead of exhausting memory.
    const { client, requests } = harness((r, n) => {
      if (n > 1) throw new Error(`followed the foreign nextLink to ${new URL(r.url).origin}`)
      return json({
        value: [],
        '@odata.nextLink': 'https://evil.example.com/api/data/v9.2/accounts?$skiptoken=1',
      })
    })
    const iterate = async () => {
      for await (const _ of client.queryAll('accounts')) void _
    }
    await expect(iterate()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
    expect(requests).toHaveLength(1)
  })

  it('fetchXml iterates pages with the decoded paging cookie', async () => {
    const cookie = '<cookie page="1"><accountid last="{X}" first="{Y}" /></cookie>'
    const { client, requests } = harness((_r, n) =>
      json({
        value: [{ n }],
        '@Microsoft.Dynamics.CRM.morerecords': n < 2,
        '@Microsoft.Dynamics.CRM.fetchxmlpagingcookie': `<cookie pagenumber="${n + 1}" pagingcookie="${encodeURIComponent(encodeURIComponent(cookie))}" istracking="False" />`,
      }),
    )
    const rows: unknown[] = []
    for await (const row of client.fetchXml('accounts', '<fetch count="1"><entity name="account"/></fetch>'))
      rows.push(row)
    expect(rows).toEqual([{ n: 1 }, { n: 2 }])
    const second = new URL(requests[1]?.url as string).searchParams.get('fetchXml') as string
    expect(second).toContain('page="2"')
    expect(second).toContain(
      `paging-cookie="${cookie.replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')}"`,
    )
  })

  it('refuses FetchXML that is not well-formed, or not rooted at <fetch>, before any request', async () => {
    const { client, requests } = harness(() => json({ value: [] }))
    for (const xml of ['<fetch count="1"><entity name="account"></fetch>', '<entity name="account"/>']) {
      await expect(client.fetchXmlPage('accounts', xml)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(client.fetchXml('accounts', xml).next()).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    }
    expect(requests).toHaveLength(0)
  })

  it('count uses /$count without a filter and @odata.count with one', async () => {
    const { client, requests } = harness((r) =>
      r.url.endsWith('$count')
        ? new Response('42', { headers: { 'content-type': 'text/plain' } })
        : json({ value: [], '@odata.count': 7 }),
    )
    expect(await client.count('accounts')).toBe(42)
    expect(await client.count('accounts', { filter: odata`statecode eq ${0}` })).toBe(7)
    expect(new URL(requests[1]?.url as string).searchParams.get('$count')).toBe('true')
  })

  it('functions pass parameters as escaped aliases; bound actions are qualified', async () => {
    const { client, requests } = harness(() => json({ ok: 1 }))
    await client.callFunction(
      'RetrieveUserPrivileges',
      { Name: "a'b" },
      { boundTo: { entitySet: 'systemusers', key: ID } },
    )
    await client.callAction('WinOpportunity', { Status: 3 })
    const url = new URL(requests[0]?.url as string)
    expect(decodeURIComponent(url.pathname)).toBe(
      `/api/data/v9.2/systemusers(${ID})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges(Name=@p1)`,
    )
    expect(url.searchParams.get('@p1')).toBe("'a''b'")
    expect(requests[1]?.method).toBe('POST')
  })
})

describe('impersonation', () => {
  it('as() sets CallerObjectId or MSCRMCallerID; per-request impersonation wins; the parent is unchanged', async () => {
    const { client, requests } = harness(() => json({ UserId: ID, BusinessUnitId: ID, OrganizationId: ID }))
    const oid = '99999999-2222-3333-4444-555555555555'
    await client.as({ callerObjectId: oid }).whoAmI()
    await client.as({ systemUserId: ID }).whoAmI()
    await client.as({ systemUserId: ID }).whoAmI({ impersonate: { callerObjectId: oid } })
    await client.whoAmI()
    expect(requests.map((r) => [r.headers.get('callerobjectid'), r.headers.get('mscrmcallerid')])).toEqual([
      [oid, null],
      [null, ID],
      [oid, null],
      [null, null],
    ])
    expect(() => client.as({ callerObjectId: 'not-a-guid' })).toThrow(DataverseError)
  })
})

describe('resilience', () => {
  it('a 429 pauses the whole client for Retry-After, then the request succeeds', async () => {
    const sentAt: number[] = []
    const { client } = harness(
      (_r, n) => {
        sentAt.push(Date.now())
        return n === 1
          ? odataError(429, '0x80072322', 'Number of requests exceeded', { 'Retry-After': '0.3' })
          : json({ value: [] })
      },
      { concurrency: 1 },
    )
    vi.useFakeTimers()
    try {
      const start = Date.now()
      const both = Promise.all([client.query('accounts'), client.query('contacts')])
      await vi.advanceTimersByTimeAsync(299)
      expect(sentAt).toHaveLength(1) // paused: nothing sent before Retry-After
      await vi.advanceTimersByTimeAsync(1)
      await both
      // The second query waited behind the first request; neither was sent again before the pause ended.
      expect(sentAt).toHaveLength(3)
      expect((sentAt[1] as number) - start).toBe(300)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a 429 seen by an impersonating child client pauses its parent too (same org, same limits)', async () => {
    const sentAt: number[] = []
    const { client } = harness((_r, n) => {
      sentAt.push(Date.now())
      return n === 1 ? odataError(429, '0x80072322', 'limit', { 'Retry-After': '0.25' }) : json({ value: [] })
    })
    vi.useFakeTimers()
    try {
      const child = client.as({ systemUserId: ID })
      const start = Date.now()
      const first = child.query('accounts')
      await vi.advanceTimersByTimeAsync(30)
      const second = client.query('contacts')
      await vi.advanceTimersByTimeAsync(219)
      expect(sentAt).toHaveLength(1) // the parent waits out the child's 250 ms pause
      await vi.advanceTimersByTimeAsync(1)
      await Promise.all([first, second])
      expect(sentAt).toHaveLength(3)
      expect((sentAt[1] as number) - start).toBe(250)
    } finally {
      vi.useRealTimers()
    }
  })

  it('waits on the clock it is given: a 60 s Retry-After takes no real time', async () => {
    let now = 1_000_000
    const slept: number[] = []
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms)
        now += ms
      },
    }
    const { client, requests } = harness(
      (_r, n) =>
        n === 1 ? odataError(429, '0x80072322', 'limit', { 'Retry-After': '60' }) : json({ value: [] }),
      { clock, retry: { budgetMs: 120_000 } },
    )
    const started = performance.now()
    await client.query('accounts')
    expect(requests).toHaveLength(2)
    expect(slept.reduce((a, b) => a + b, 0)).toBe(60_000)
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('gives up with THROTTLED and retryAfterMs when Retry-After exceeds the budget', async () => {
    const { client } = harness(() => odataError(429, '0x80072322', 'limit', { 'Retry-After': '60' }), {
      retry: { budgetMs: 1000 },
    })
    const error = await client.whoAmI().catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'THROTTLED',
      status: 429,
      retryAfterMs: 60_000,
      serviceCode: '0x80072322',
    })
    expect((error as DataverseError).isTransient).toBe(true)
  })

  it('retries 503 and network errors for safe operations but not for a plain create', async () => {
    const flaky = (n: number) =>
      n === 1
        ? odataError(503, '', 'busy')
        : n === 2
          ? Promise.reject(new TypeError('socket hang up'))
          : json({ value: [] })
    const a = harness((_r, n) => flaky(n))
    await expect(a.client.query('accounts')).resolves.toEqual({ value: [] })
    expect(a.requests).toHaveLength(3)

    const b = harness(() => odataError(503, '', 'busy'))
    await expect(b.client.create('accounts', {})).rejects.toMatchObject({ code: 'SERVER', status: 503 })
    expect(b.requests).toHaveLength(1)

    const c = harness((_r, n) =>
      n === 1
        ? odataError(503, '', 'busy')
        : new Response(null, { status: 204, headers: { 'OData-EntityId': `accounts(${ID})` } }),
    )
    await expect(c.client.create('accounts', {}, { retryable: true })).resolves.toBe(ID)
  })

  it('retries a create after a 429 (it was not executed) but never an action after a 503; logs never hold the token', async () => {
    const logged: string[] = []
    const a = harness(
      (_r, n) =>
        n === 1
          ? odataError(429, '0x80072326', 'Number of concurrent requests exceeded the limit of 52.', {
              'Retry-After': '0.01',
            })
          : new Response(null, { status: 204, headers: { 'OData-EntityId': `accounts(${ID})` } }),
      {
        logger: {
          warn: (m, f) => logged.push(m + JSON.stringify(f)),
          debug: (m, f) => logged.push(m + JSON.stringify(f)),
        },
      },
    )
    await expect(a.client.create('accounts', { name: 'x' })).resolves.toBe(ID)
    expect(a.requests).toHaveLength(2)
    expect(logged.length).toBeGreaterThan(0)
    expect(logged.join('\n')).not.toContain(TOKEN)

    const b = harness(() => odataError(503, '', 'busy'))
    await expect(b.client.callAction('WinOpportunity', { Status: 3 })).rejects.toMatchObject({ status: 503 })
    expect(b.requests).toHaveLength(1)
    const c = harness(() => odataError(503, '', 'busy'), {
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    })
    await expect(c.client.callAction('WinOpportunity', {}, { retryable: true })).rejects.toMatchObject({
      attempts: 3,
    })
    expect(c.requests).toHaveLength(3)
  })

  it('refreshes the token once on 401, then reports UNAUTHORIZED', async () => {
    const a = harness((r) =>
      r.headers.get('authorization') === `Bearer ${TOKEN}`
        ? odataError(401, '', 'expired')
        : json({ value: [] }),
    )
    await a.client.query('accounts')
    expect(a.tokenCalls.map((c) => c.forceRefresh)).toEqual([false, true])

    const b = harness(() => odataError(401, '0x80044306', 'bad token'))
    const error = (await b.client.query('accounts').catch((e: unknown) => e)) as DataverseError
    expect(error.code).toBe('UNAUTHORIZED')
    expect(b.requests).toHaveLength(2)
  })

  it('errors carry status, hex code, request id, method and path, and never the token', async () => {
    const { client } = harness(() =>
      odataError(404, '0x80040217', `account With Id = ${ID} Does Not Exist`, {
        'x-ms-service-request-id': 'req-1',
      }),
    )
    const error = (await client
      .retrieve('accounts', ID, { select: ['name'] })
      .catch((e: unknown) => e)) as DataverseError
    expect(isDataverseError(error)).toBe(true)
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      serviceCode: '0x80040217',
      requestId: 'req-1',
      method: 'GET',
      path: `accounts(${ID})`,
      isTransient: false,
    })
    expect(error.message).toContain('Does Not Exist')
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(TOKEN)
  })

  it('times out one attempt (TIMEOUT) and honours the caller signal (ABORTED)', async () => {
    const hang: Handler = (r) =>
      new Promise((_, reject) =>
        r.signal.addEventListener('abort', () => reject(r.signal.reason), { once: true }),
      )
    const a = harness(hang, { retry: false, timeoutMs: 50 })
    await expect(a.client.whoAmI()).rejects.toMatchObject({ code: 'TIMEOUT' })
    const b = harness(hang)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 30)
    await expect(b.client.whoAmI({ signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('never runs more requests at once than the limit, which starts from x-ms-dop-hint', async () => {
    let active = 0
    let peak = 0
    const { client } = harness(
      async () => {
        active++
        peak = Math.max(peak, active)
        await new Promise((r) => setTimeout(r, 5))
        active--
        return json({ value: [] }, 200, { 'x-ms-dop-hint': '3' })
      },
      { concurrency: { initial: 1, max: 4 } },
    )
    await client.query('accounts')
    expect(peak).toBe(1)
    await Promise.all(Array.from({ length: 40 }, () => client.query('accounts')))
    expect(peak).toBeGreaterThanOrEqual(3)
    expect(peak).toBeLessThanOrEqual(4)
  })

  it('reports a getToken failure as TOKEN without sending', async () => {
    const { requests, client } = harness(() => json({}), {
      getToken: () => {
        throw new Error('no credentials')
      },
    })
    await expect(client.whoAmI()).rejects.toMatchObject({ code: 'TOKEN' })
    expect(requests).toHaveLength(0)
  })
})
