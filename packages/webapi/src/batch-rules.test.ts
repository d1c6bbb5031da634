import { describe, expect, it } from 'vitest'
import { bounded, guarded } from '../test/runaway.ts'
import { parseMultipart } from './batch.ts'
import { createDataverseClient } from './client.ts'
import { isDataverseError } from './errors.ts'

// client.batch() rule by rule (found by mutation testing): the request it writes for each operation, when a batch
// may be sent twice, and how each part of the answer becomes a result. Microsoft Learn, "Execute batch operations
// using the Web API": multipart/mixed, change sets with Content-ID, `$n` references, Prefer: odata.continue-on-error.

const ORG = 'https://contoso.crm.dynamics.com'
const API = '/api/data/v9.2/'
const A = '11111111-2222-3333-4444-555555555555'
const B = '99999999-2222-3333-4444-555555555555'

function harness(respond: (n: number) => Response | Error = () => answer([ok200('{}')])) {
  const sent: { body: string; headers: Headers }[] = []
  const client = guarded(
    createDataverseClient({
      url: ORG,
      getToken: bounded(() => 'tok'),
      retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init)
        sent.push({ body: await request.text(), headers: request.headers })
        const reply = respond(sent.length)
        if (reply instanceof Error) throw reply
        return reply
      }) as typeof fetch,
    }),
  )
  return { client, sent }
}

/** The parts of a written batch body (between its boundaries), each as its lines. */
function partsOf(body: string): string[][] {
  const boundary = /^--(batch_[0-9a-f]{24})\r\n/.exec(body)?.[1] as string
  expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true)
  return body
    .slice(0, -`--${boundary}--\r\n`.length)
    .split(`--${boundary}\r\n`)
    .slice(1)
    .map((p) => p.split('\r\n'))
}

const part = (http: string, contentId?: string) =>
  `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${contentId ? `Content-ID: ${contentId}\r\n` : ''}\r\n${http}`
const ok200 = (body: string, contentId?: string) =>
  part(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n${body}\r\n`, contentId)
const noContent = (entity?: string, contentId?: string, header = 'OData-EntityId') =>
  part(
    `HTTP/1.1 204 No Content\r\n${entity ? `${header}: ${ORG}${API}${entity}\r\n` : ''}\r\n\r\n`,
    contentId,
  )
const failure = (status: number, code: string, message: string, contentId?: string) =>
  part(
    `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\n\r\n{"error":{"code":"${code}","message":"${message}"}}\r\n`,
    contentId,
  )
const changeSet = (parts: string[]) =>
  `Content-Type: multipart/mixed; boundary=cs_r\r\n\r\n${parts.map((p) => `--cs_r\r\n${p}`).join('')}--cs_r--\r\n`
function answer(items: string[], status = 200): Response {
  return new Response(`${items.map((i) => `--br\r\n${i}`).join('')}--br--\r\n`, {
    status,
    headers: { 'content-type': 'multipart/mixed; boundary=br' },
  })
}

describe('batch: the request', () => {
  it('writes each operation as the documented part: method, path under the API, headers, JSON body', async () => {
    const h = harness(() => answer([]))
    const b = h.client.batch()
    b.create('accounts', { name: 'a' })
    b.update('accounts', A, { name: 'b' })
    b.update('accounts', A, { name: 'c' }, { ifMatch: 'W/"7"' })
    b.upsert('accounts', { accountnumber: 'N-1' }, { name: 'd' })
    b.delete('accounts', A)
    b.delete('accounts', A, { ifMatch: 'W/"8"' })
    b.associate('accounts', A, 'contact_customer_accounts', { entitySet: 'contacts', key: B })
    b.action('WinOpportunity', { Status: 3 })
    b.action('Ping')
    b.retrieve('accounts', A, { select: ['name'] })
    b.query('accounts', { select: ['name'], filter: "name eq 'x'", formattedValues: true })
    b.query('accounts', { fetchXml: "<fetch><entity name='account'/></fetch>" })
    expect(b.size).toBe(12)
    await b.execute()
    const json = 'content-type: application/json; type=entry'
    expect(partsOf(h.sent[0]?.body as string).map((p) => p.slice(3))).toEqual([
      [`POST ${API}accounts HTTP/1.1`, json, '', '{"name":"a"}', ''],
      [`PATCH ${API}accounts(${A}) HTTP/1.1`, json, 'if-match: *', '', '{"name":"b"}', ''],
      [`PATCH ${API}accounts(${A}) HTTP/1.1`, json, 'if-match: W/"7"', '', '{"name":"c"}', ''],
      [`PATCH ${API}accounts(accountnumber='N-1') HTTP/1.1`, json, '', '{"name":"d"}', ''],
      [`DELETE ${API}accounts(${A}) HTTP/1.1`, '', '', ''],
      [`DELETE ${API}accounts(${A}) HTTP/1.1`, 'if-match: W/"8"', '', '', ''],
      [
        `POST ${API}accounts(${A})/contact_customer_accounts/$ref HTTP/1.1`,
        json,
        '',
        `{"@odata.id":"${ORG}${API}contacts(${B})"}`,
        '',
      ],
      [`POST ${API}WinOpportunity HTTP/1.1`, json, '', '{"Status":3}', ''],
      [`POST ${API}Ping HTTP/1.1`, json, '', '{}', ''],
      [`GET ${API}accounts(${A})?$select=name HTTP/1.1`, 'Accept: application/json', '', '', ''],
      [
        `GET ${API}accounts?$select=name&$filter=name%20eq%20'x' HTTP/1.1`,
        'Accept: application/json',
        'prefer: odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
        '',
        '',
        '',
      ],
      [
        `GET ${API}accounts?fetchXml=${encodeURIComponent("<fetch><entity name='account'/></fetch>")} HTTP/1.1`,
        'Accept: application/json',
        'prefer: odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"',
        '',
        '',
        '',
      ],
    ])
    expect(partsOf(h.sent[0]?.body as string)[0]?.slice(0, 3)).toEqual([
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
    ])
  })

  it('numbers a change set’s operations as Content-IDs whose $n works as a key and as an @odata.id', async () => {
    const h = harness(() => answer([]))
    const b = h.client.batch()
    let refs: string[] = []
    b.changeSet((cs) => {
      const a = cs.create('accounts', { name: 'p' })
      const c = cs.create('contacts', { firstname: 'q' })
      cs.update('accounts', a.ref, { name: 'p2' })
      cs.associate('accounts', a.ref, 'contact_customer_accounts', { entitySet: 'contacts', key: c.ref })
      refs = [a.contentId, a.ref, c.contentId, c.ref]
    })
    b.changeSet(() => undefined) // an empty change set is left out
    await b.execute()
    expect(refs).toEqual(['1', '$1', '2', '$2'])
    const body = h.sent[0]?.body as string
    const [outer] = partsOf(body)
    expect(outer?.[0]).toMatch(/^Content-Type: multipart\/mixed; boundary=changeset_[0-9a-f]{24}$/)
    expect(body).toContain('Content-ID: 1\r\n\r\nPOST /api/data/v9.2/accounts HTTP/1.1')
    expect(body).toContain('Content-ID: 3\r\n\r\nPATCH $1 HTTP/1.1')
    expect(body).toContain('Content-ID: 4\r\n\r\nPOST $1/contact_customer_accounts/$ref HTTP/1.1')
    expect(body).toContain('{"@odata.id":"$2"}')
    expect(body.match(/boundary=changeset_/g)).toHaveLength(1)
  })

  it('sends nothing for an empty batch, and refuses a second execute or a 1,001st operation', async () => {
    const h = harness()
    const empty = h.client.batch()
    expect(await empty.execute()).toEqual([])
    expect(h.sent).toHaveLength(0)
    await expect(empty.execute()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'This batch was already executed; create a new one.',
    })
    expect(() => empty.create('accounts', {})).toThrow('This batch was already executed; create a new one.')
    const full = h.client.batch()
    for (let i = 0; i < 999; i++) full.delete('accounts', A)
    full.changeSet((cs) => {
      cs.delete('accounts', A)
      expect(() => cs.delete('accounts', A)).toThrow('A batch holds at most 1,000 operations.')
    })
    expect(full.size).toBe(1000)
    expect(() => full.retrieve('accounts', A)).toThrow('A batch holds at most 1,000 operations.')
    expect(() => full.query('accounts')).toThrow('A batch holds at most 1,000 operations.')
  })

  it('asks for continue-on-error when told, and names the batch boundary in Content-Type', async () => {
    const h = harness(() => answer([noContent()]))
    const b = h.client.batch({ continueOnError: true })
    b.delete('accounts', A)
    await b.execute()
    expect(h.sent[0]?.headers.get('prefer')).toBe('odata.continue-on-error')
    expect(h.sent[0]?.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary=batch_[0-9a-f]{24}$/)
    const plain = harness(() => answer([noContent()]))
    const p = plain.client.batch()
    p.delete('accounts', A)
    await p.execute()
    expect(plain.sent[0]?.headers.get('prefer')).toBeNull()
  })
})

describe('batch: when a batch may be sent again', () => {
  const twice = (build: (b: ReturnType<ReturnType<typeof harness>['client']['batch']>) => void) => {
    const h = harness((n) =>
      n === 1
        ? new Response('busy', { status: 503, headers: { 'retry-after': '0' } })
        : answer([noContent(), noContent()]),
    )
    const b = h.client.batch()
    build(b)
    return b.execute().then(
      () => h.sent.length,
      () => h.sent.length,
    )
  }

  it('repeats reads, updates and deletes, and a batch that is one change set, after a 503', async () => {
    expect(await twice((b) => b.retrieve('accounts', A))).toBe(2)
    expect(await twice((b) => b.update('accounts', A, {}))).toBe(2)
    expect(await twice((b) => b.changeSet((cs) => cs.create('accounts', {})))).toBe(2)
  })

  it('never repeats a create outside a change set, or a change set beside other work', async () => {
    expect(await twice((b) => b.create('accounts', {}))).toBe(1)
    expect(await twice((b) => b.action('Ping'))).toBe(1)
    expect(
      await twice((b) => {
        b.changeSet((cs) => cs.create('accounts', {}))
        b.retrieve('accounts', A)
      }),
    ).toBe(1)
  })
})

describe('batch: the answer', () => {
  it('maps each part to its operation: status, id from OData-EntityId or Location, JSON or text body, headers', async () => {
    const h = harness(() =>
      answer([
        noContent(`accounts(${A})`),
        noContent(`contacts(${B})`, undefined, 'Location'),
        ok200('{"name":"x"}'),
        part('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nplain text\r\n'),
      ]),
    )
    const b = h.client.batch()
    b.create('accounts', {})
    b.create('contacts', {})
    b.retrieve('accounts', A)
    b.action('Echo')
    const [r0, r1, r2, r3] = await b.execute()
    expect(r0).toMatchObject({ ok: true, index: 0, status: 204, id: A })
    expect(r0 && 'body' in r0).toBe(false)
    expect(r1).toMatchObject({ ok: true, index: 1, id: B })
    expect(r2).toMatchObject({ ok: true, index: 2, status: 200, body: { name: 'x' } })
    expect(r2 && 'id' in r2).toBe(false)
    expect(r2?.ok && r2.header('CONTENT-TYPE')).toBe('application/json')
    expect(r3).toMatchObject({ ok: true, body: 'plain text' })
  })

  it('a failed operation outside a change set is its own error; the rest were not executed, with the failure as cause', async () => {
    const h = harness(() => answer([noContent(), failure(404, '0x80040217', 'account Does Not Exist')], 400))
    const b = h.client.batch()
    b.delete('accounts', A)
    b.delete('accounts', B)
    b.delete('contacts', A)
    b.changeSet((cs) => cs.delete('contacts', B))
    const [r0, r1, r2, r3] = await b.execute()
    expect(r0).toMatchObject({ ok: true })
    const cause = r1 && !r1.ok ? r1.error : undefined
    expect(cause).toMatchObject({
      status: 404,
      serviceCode: '0x80040217',
      method: 'DELETE',
      path: `accounts(${B})`,
    })
    expect(r2).toMatchObject({
      ok: false,
      index: 2,
      error: {
        code: 'BATCH_NOT_EXECUTED',
        message: `DELETE contacts(${A}) was not executed: the batch stopped at an earlier failure (use continueOnError to run every operation).`,
        cause,
      },
    })
    expect(r3).toMatchObject({ ok: false, index: 3, error: { code: 'BATCH_NOT_EXECUTED', cause } })
  })

  it('a part with no status line is an error, not a success', async () => {
    const h = harness(() => answer([part('garbage\r\n\r\n')]))
    const b = h.client.batch()
    b.retrieve('accounts', A)
    const [r] = await b.execute()
    expect(r?.ok).toBe(false)
  })

  it('maps a change set’s parts by Content-ID, in whatever order they come', async () => {
    const h = harness(() =>
      answer([changeSet([noContent(`contacts(${B})`, '2'), noContent(`accounts(${A})`, '1')])]),
    )
    const b = h.client.batch()
    b.changeSet((cs) => {
      cs.create('accounts', {})
      cs.create('contacts', {})
    })
    const results = await b.execute()
    expect(results.map((r) => r.ok && r.id)).toEqual([A, B])
  })

  it('a failed change set: the failing operation carries its error, the others BATCH_ROLLED_BACK naming it', async () => {
    const h = harness(() =>
      answer([failure(412, '0x80060882', 'The version of the existing record does not match', '2')], 400),
    )
    const b = h.client.batch()
    b.changeSet((cs) => {
      cs.create('accounts', {})
      cs.update('accounts', A, {}, { ifMatch: 'W/"1"' })
    })
    const [r0, r1] = await b.execute()
    const culprit = r1 && !r1.ok ? r1.error : undefined
    expect(culprit).toMatchObject({ code: 'PRECONDITION_FAILED', method: 'PATCH', path: `accounts(${A})` })
    expect(r0).toMatchObject({
      ok: false,
      index: 0,
      error: {
        code: 'BATCH_ROLLED_BACK',
        message: `POST accounts was rolled back because another operation of its change set failed: ${culprit?.message}`,
        cause: culprit,
      },
    })
  })

  it('a change set answered by one failure without Content-ID still fails every operation, with that failure as cause', async () => {
    const h = harness(() => answer([failure(400, '0x80048d19', 'Invalid property')], 400))
    const b = h.client.batch()
    b.changeSet((cs) => {
      cs.create('accounts', {})
      cs.create('contacts', {})
    })
    b.retrieve('accounts', A)
    const [r0, r1, r2] = await b.execute()
    for (const r of [r0, r1]) {
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'BATCH_ROLLED_BACK', cause: { status: 400, method: 'POST', path: '$batch' } },
      })
    }
    expect(r2).toMatchObject({ ok: false, error: { code: 'BATCH_NOT_EXECUTED' } })
  })

  it('a change set answered with fewer parts than operations is rolled back, not half applied', async () => {
    const h = harness(() => answer([changeSet([noContent(`accounts(${A})`, '1')])]))
    const b = h.client.batch()
    b.changeSet((cs) => {
      cs.create('accounts', {})
      cs.create('contacts', {})
    })
    const results = await b.execute()
    expect(results).toEqual(
      [0, 1].map((index) => ({
        ok: false,
        index,
        error: expect.objectContaining({
          code: 'INVALID_RESPONSE',
          message:
            'POST $batch: a change set of 2 operations was answered with 1 parts and no failure; whether it was applied is unknown.',
        }),
      })),
    )
  })

  it('refuses an answer that is not multipart/mixed; a whole-batch error is one DataverseError', async () => {
    const h = harness(() => Response.json({ value: [] }))
    const b = h.client.batch()
    b.delete('accounts', A)
    await expect(b.execute()).rejects.toMatchObject({
      code: 'INVALID_RESPONSE',
      message: 'POST $batch: the response is not multipart/mixed.',
      status: 200,
      method: 'POST',
      path: '$batch',
    })
    const e = harness(() => Response.json({ error: { code: '0x0', message: 'bad' } }, { status: 400 }))
    const b2 = e.client.batch()
    b2.delete('accounts', A)
    const thrown = await b2.execute().catch((x: unknown) => x)
    expect(isDataverseError(thrown) && thrown.status).toBe(400)
  })
})

describe('parseMultipart', () => {
  it('reads parts, nested change sets, Content-IDs from the MIME or the HTTP headers, and strips the closing line break', () => {
    const text =
      'preamble\r\n--b\r\n' +
      'Content-Type: application/http\r\n\r\nHTTP/1.1 201 Created\r\nContent-ID: 7\r\nX-A: 1\r\n\r\n{"a":1}\r\n' +
      '--b\r\nContent-Type: multipart/mixed; boundary="cs"\r\n\r\n--cs\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--cs--\r\n' +
      '--b--\r\nepilogue --b\r\n'
    const items = parseMultipart(text, 'b')
    expect(items).toHaveLength(2)
    expect(items[0]).toMatchObject({ contentId: '7', status: 201, body: '{"a":1}' })
    expect((items[0] as { headers: Map<string, string> }).headers.get('x-a')).toBe('1')
    expect(items[1]).toEqual([{ contentId: '1', status: 204, headers: new Map(), body: '' }])
  })

  it('takes the boundary parameter itself, not one whose name only ends in boundary', async () => {
    const h = harness(
      () =>
        new Response(`--br\r\n${noContent(`accounts(${A})`)}--br--\r\n`, {
          headers: { 'content-type': 'multipart/mixed; xboundary=zz; boundary=br' },
        }),
    )
    const b = h.client.batch()
    b.create('accounts', {})
    expect((await b.execute())[0]).toMatchObject({ ok: true, id: A })
  })

  it('reads LF-only answers too', () => {
    const items = parseMultipart(
      '--b\nContent-Type: application/http\n\nHTTP/1.1 200 OK\nA: b\n\nbody\n--b--',
      'b',
    )
    expect(items).toEqual([
      { contentId: undefined, status: 200, headers: new Map([['a', 'b']]), body: 'body' },
    ])
  })
})

describe('batch: more rules', () => {
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn()
    } catch (e) {
      return e
    }
    throw new Error('did not throw')
  }

  it('names the argument it refuses, and says a full batch is full with INVALID_ARGUMENT', () => {
    const b = harness().client.batch()
    const name = (what: string, fn: () => unknown) =>
      expect(thrown(fn)).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(new RegExp(`^${what} "`)),
      })
    name('Entity set', () => b.create('bad set', {}))
    name('Entity set', () => b.query('bad set'))
    name('Navigation property', () =>
      b.associate('accounts', A, 'bad nav', { entitySet: 'contacts', key: B }),
    )
    name('Action', () => b.action('bad action'))
    for (let i = 0; i < 1000 - b.size; ) b.delete('accounts', A)
    expect(thrown(() => b.delete('accounts', A))).toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('gives operations outside a change set no Content-ID to refer to', () => {
    const b = harness().client.batch()
    const none = { contentId: '', ref: '' }
    expect(b.create('accounts', {})).toEqual(none)
    expect(b.retrieve('accounts', A)).toEqual(none)
    expect(b.query('accounts')).toEqual(none)
  })

  it('associates to a target named by an alternate key as an absolute @odata.id', async () => {
    const h = harness(() => answer([]))
    const b = h.client.batch()
    b.associate('accounts', A, 'contact_customer_accounts', {
      entitySet: 'contacts',
      key: { emailaddress1: 'a@b.c' },
    })
    await b.execute()
    expect(h.sent[0]?.body).toContain(`{"@odata.id":"${ORG}${API}contacts(emailaddress1='a@b.c')"}`)
  })

  it('throws a whole-batch 5xx or a 4xx that is not multipart as one error; reads a 4xx multipart answer', async () => {
    const server = harness(
      () =>
        new Response('--br--\r\n', {
          status: 500,
          headers: { 'content-type': 'multipart/mixed; boundary=br' },
        }),
    )
    const b = server.client.batch()
    b.retrieve('accounts', A)
    expect(await b.execute().catch((e: unknown) => (e as { status: number }).status)).toBe(500)
    const noType = harness(() => new Response(new Uint8Array([45, 45]), { status: 200 }))
    const n = noType.client.batch()
    n.retrieve('accounts', A)
    await expect(n.execute()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
  })

  it('reads an HTTP part whose Content-Type has a boundary but is not multipart as an operation, not a change set', () => {
    const items = parseMultipart(
      '--b\r\nContent-Type: application/http; boundary=x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--b--',
      'b',
    )
    expect(items).toEqual([{ contentId: undefined, status: 200, headers: new Map(), body: '{}' }])
  })

  it('reads a status only from a status line that starts the part, with any spaces before the code; trims header names', () => {
    const status = (line: string) =>
      (
        parseMultipart(`--b\r\nContent-Type: application/http\r\n\r\n${line}\r\n\r\n\r\n--b--`, 'b')[0] as {
          status: number
        }
      ).status
    expect(status('HTTP/1.1   201 Created')).toBe(201)
    expect(status('junk HTTP/1.1 200 OK')).toBe(0)
    const [item] = parseMultipart(
      '--b\r\nContent-Type: application/http\r\nContent-ID : 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--b--',
      'b',
    )
    expect((item as { contentId: string }).contentId).toBe('5')
  })

  it('gives a part whose body is only whitespace no body', async () => {
    const h = harness(() => answer([part('HTTP/1.1 200 OK\r\n\r\n   \r\n')]))
    const b = h.client.batch()
    b.retrieve('accounts', A)
    const [r] = await b.execute()
    expect(r).toMatchObject({ ok: true, status: 200 })
    expect(r && 'body' in r).toBe(false)
  })

  it('the failure of a change set stops the batch: later operations were not executed, because of it', async () => {
    const truncated = harness(() => answer([changeSet([noContent(`accounts(${A})`, '1')])]))
    const b = truncated.client.batch()
    b.changeSet((cs) => {
      cs.create('accounts', {})
      cs.create('contacts', {})
    })
    b.retrieve('accounts', A)
    const [first, , after] = await b.execute()
    const cause = first && !first.ok ? first.error : undefined
    expect(cause).toMatchObject({ method: 'POST', path: '$batch' })
    expect(after).toMatchObject({ ok: false, error: { code: 'BATCH_NOT_EXECUTED', cause } })

    const anonymous = harness(() =>
      answer(
        [
          part(
            'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nx-ms-service-request-id: req-1\r\nContent-Type: application/json\r\n\r\n{"error":{"code":"0x80072322","message":"limit"}}\r\n',
          ),
        ],
        400,
      ),
    )
    const c = anonymous.client.batch()
    c.changeSet((cs) => cs.create('accounts', {}))
    c.retrieve('accounts', A)
    const [rolled, notRun] = await c.execute()
    const rollCause = rolled && !rolled.ok ? rolled.error.cause : undefined
    expect(rollCause).toMatchObject({ requestId: 'req-1', retryAfterMs: 7000 })
    expect(notRun).toMatchObject({ ok: false, error: { code: 'BATCH_NOT_EXECUTED', cause: rollCause } })
  })
})
