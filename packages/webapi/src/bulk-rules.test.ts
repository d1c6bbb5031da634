import { describe, expect, it } from 'vitest'
import { bounded, guarded } from '../test/runaway.ts'
import { createDataverseClient } from './client.ts'
import { type DataverseError, isDataverseError } from './errors.ts'
import type { Row } from './row.ts'
import type { DataverseClientOptions } from './types.ts'

// The bulk operations rule by rule (found by mutation testing), against a scripted fetch. Microsoft Learn, "Use bulk
// operation messages": POST {set}/Microsoft.Dynamics.CRM.CreateMultiple|UpdateMultiple|UpsertMultiple with
// {"Targets":[...]}, each target typed by "@odata.type"; CreateMultiple answers {"Ids":[...]} in target order.

const ORG = 'https://contoso.crm.dynamics.com'
const ACCOUNTS = { entitySet: 'accounts', logicalName: 'account' }

type Handler = (body: { Targets: Row[] }, n: number, request: Request) => Response | Promise<Response> | Error

function harness(handler: Handler, options: Partial<DataverseClientOptions> = {}) {
  const sent: { url: string; headers: Headers; targets: Row[] }[] = []
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const body = JSON.parse(await request.clone().text()) as { Targets: Row[] }
    sent.push({ url: request.url, headers: request.headers, targets: body.Targets })
    const reply = await handler(body, sent.length, request)
    if (reply instanceof Error) throw reply
    return reply
  }) as typeof globalThis.fetch
  const client = guarded(
    createDataverseClient({
      url: ORG,
      getToken: bounded(() => 'token'),
      fetch,
      concurrency: 1,
      retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
      ...options,
    }),
  )
  return { client, sent }
}

const ids = (targets: Row[], from = 0) =>
  Response.json({
    Ids: targets.map((_, i) => `00000000-0000-0000-0000-${String(from + i).padStart(12, '0')}`),
  })
const rows = (n: number, from = 0): Row[] => Array.from({ length: n }, (_, i) => ({ name: `r${from + i}` }))
const error = (status: number, code = '0x80040237') =>
  Response.json({ error: { code, message: `failed with ${status}` } }, { status })

async function incomplete(p: Promise<unknown>): Promise<DataverseError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  if (!isDataverseError(e) || e.code !== 'BULK_INCOMPLETE')
    throw new Error(`expected BULK_INCOMPLETE, got ${String(e)}`)
  return e
}

describe('bulk: requests', () => {
  it('posts {set}/Microsoft.Dynamics.CRM.{operation} with typed Targets in chunks, leaving a row’s own @odata.type', async () => {
    const h = harness((body, n) => ids(body.Targets, (n - 1) * 2))
    const input = [{ name: 'a' }, { name: 'b', '@odata.type': 'Microsoft.Dynamics.CRM.other' }, { name: 'c' }]
    const created = await h.client.createMultiple(ACCOUNTS, input, { chunkSize: 2 })
    expect(created).toEqual([
      '00000000-0000-0000-0000-000000000000',
      '00000000-0000-0000-0000-000000000001',
      '00000000-0000-0000-0000-000000000002',
    ])
    expect(h.sent.map((s) => s.url)).toEqual([
      `${ORG}/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple`,
      `${ORG}/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple`,
    ])
    expect(h.sent.map((s) => s.targets)).toEqual([
      [
        { name: 'a', '@odata.type': 'Microsoft.Dynamics.CRM.account' },
        { name: 'b', '@odata.type': 'Microsoft.Dynamics.CRM.other' },
      ],
      [{ name: 'c', '@odata.type': 'Microsoft.Dynamics.CRM.account' }],
    ])
    expect(h.sent[0]?.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(input[0]).toEqual({ name: 'a' }) // the caller's rows are not changed
  })

  it('names each row of an update or upsert by the key function as @odata.id; a create ignores a key', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    const count = await h.client.upsertMultiple(
      ACCOUNTS,
      [{ accountnumber: 'A-1' }, { accountnumber: "B'2" }],
      {
        key: (row) => ({ accountnumber: row['accountnumber'] as string }),
      },
    )
    expect(count).toBe(2)
    expect(h.sent[0]?.url).toBe(`${ORG}/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple`)
    expect(h.sent[0]?.targets.map((t) => t['@odata.id'])).toEqual([
      "accounts(accountnumber='A-1')",
      "accounts(accountnumber='B''2')",
    ])
    const u = harness(() => new Response(null, { status: 204 }))
    await u.client.updateMultiple(ACCOUNTS, [{ name: 'x' }], {
      key: () => '11111111-2222-3333-4444-555555555555',
    })
    expect(u.sent[0]?.targets[0]?.['@odata.id']).toBe('accounts(11111111-2222-3333-4444-555555555555)')
    const c = harness((body) => ids(body.Targets))
    await c.client.createMultiple(ACCOUNTS, [{ name: 'x' }], { key: () => 'nope' } as never)
    expect(c.sent[0]?.targets[0]).not.toHaveProperty('@odata.id')
  })

  it('reads rows from any iterable or async iterable, sends nothing for none, and counts what it read', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    expect(await h.client.updateMultiple(ACCOUNTS, new Set(rows(3)), { chunkSize: 5 })).toBe(3)
    async function* gen() {
      yield* rows(4)
    }
    expect(await h.client.updateMultiple(ACCOUNTS, gen(), { chunkSize: 3 })).toBe(4)
    expect(h.sent.map((s) => s.targets.length)).toEqual([3, 3, 1])
    expect(await h.client.updateMultiple(ACCOUNTS, [])).toBe(0)
    expect(h.sent).toHaveLength(3)
  })

  it('sends 1,000 rows per request unless told otherwise', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    await h.client.updateMultiple(ACCOUNTS, rows(1001))
    expect(h.sent.map((s) => s.targets.length)).toEqual([1000, 1])
  })

  it('refuses a table, chunk size or rows it cannot use before sending, saying what to pass', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    await expect(h.client.createMultiple(null as never, [])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        "CreateMultiple needs the table as { entitySet, logicalName }, e.g. { entitySet: 'accounts', logicalName: 'account' }.",
    })
    await expect(h.client.updateMultiple('accounts' as never, [])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    for (const chunkSize of [0, -1, 1.5]) {
      await expect(h.client.updateMultiple(ACCOUNTS, [], { chunkSize })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `chunkSize must be a positive integer, got ${chunkSize}.`,
      })
    }
    for (const input of [null, 42, { name: 'not iterable' }]) {
      await expect(h.client.updateMultiple(ACCOUNTS, input as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'rows must be an array, an iterable or an async iterable of rows.',
      })
    }
    expect(h.sent).toHaveLength(0)
  })
})

describe('bulk: what was written and what was not', () => {
  it('reports a row that is not an object as a failed chunk and sends the others', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, [{ name: 'a' }, [1] as never, { name: 'c' }], {
        chunkSize: 1,
        continueOnError: true,
      }),
    )
    expect(e.bulk?.failed).toEqual([
      expect.objectContaining({
        start: 1,
        count: 1,
        error: expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: 'Row 1 of UpdateMultiple is not an object; pass each row as a JSON object.',
        }),
      }),
    ])
    expect(e.bulk?.written).toEqual([
      { start: 0, count: 1 },
      { start: 2, count: 1 },
    ])
    expect(h.sent).toHaveLength(2)
  })

  it('a bad last row ends the run without reading further', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, [{ name: 'a' }, 'x' as never], { chunkSize: 2 }),
    )
    expect(e.bulk).toMatchObject({ consumed: 2, written: [], failed: [{ start: 0, count: 2 }] })
  })

  it('counts a 4xx answered on the only attempt as failed, a 5xx or a 4xx after a retry as uncertain', async () => {
    const refused = harness(() => error(400))
    const e1 = await incomplete(refused.client.updateMultiple(ACCOUNTS, rows(2)))
    expect(e1.bulk).toMatchObject({ failed: [{ start: 0, count: 2 }], uncertain: [] })
    expect(e1).toMatchObject({
      status: 400,
      serviceCode: '0x80040237',
      method: 'POST',
      path: 'accounts/Microsoft.Dynamics.CRM.UpdateMultiple',
    })
    const server = harness(() => error(500))
    const e2 = await incomplete(server.client.updateMultiple(ACCOUNTS, rows(2)))
    expect(e2.bulk).toMatchObject({ failed: [], uncertain: [{ start: 0, count: 2 }] })
    const afterRetry = harness((_b, n) => (n === 1 ? error(503) : error(409)))
    const e3 = await incomplete(afterRetry.client.updateMultiple(ACCOUNTS, rows(1)))
    expect(e3.bulk).toMatchObject({ failed: [], uncertain: [{ start: 0, count: 1 }] })
    const network = harness(() => new TypeError('fetch failed'))
    const e4 = await incomplete(network.client.updateMultiple(ACCOUNTS, rows(1)))
    expect(e4.bulk?.uncertain).toHaveLength(1)
  })

  it('never retries a create chunk after a 5xx unless it is retryable; then sends it again', async () => {
    const once = harness(() => error(503))
    const e = await incomplete(once.client.createMultiple(ACCOUNTS, rows(1)))
    expect(once.sent).toHaveLength(1)
    expect(e.bulk?.uncertain).toHaveLength(1)
    const again = harness((body, n) => (n === 1 ? error(503) : ids(body.Targets)))
    expect(await again.client.createMultiple(ACCOUNTS, rows(1), { retryable: true })).toHaveLength(1)
    expect(again.sent).toHaveLength(2)
  })

  it('a create answered without one string id per row is uncertain (it may have been written)', async () => {
    for (const body of [{ Ids: ['only-one'] }, { Ids: [1, 2] }, { ids: ['a', 'b'] }, 'not json']) {
      const h = harness(() =>
        typeof body === 'string' ? new Response(body, { status: 200 }) : Response.json(body),
      )
      const e = await incomplete(h.client.createMultiple(ACCOUNTS, rows(2)))
      expect(e.bulk?.uncertain[0]?.error).toMatchObject({
        code: 'INVALID_RESPONSE',
        message:
          "POST accounts/Microsoft.Dynamics.CRM.CreateMultiple succeeded but did not return one id per row in 'Ids'.",
        status: 200,
      })
    }
  })

  it('says what was read, written, not written and maybe written, and where to continue', async () => {
    const h = harness((_body, n) => (n === 2 ? error(400) : new Response(null, { status: 204 })))
    const e = await incomplete(h.client.updateMultiple(ACCOUNTS, rows(10), { chunkSize: 2 }))
    // the limiter allows one request at a time: a chunk is read only when the one before it has finished
    expect(e.bulk).toMatchObject({
      operation: 'UpdateMultiple',
      entitySet: 'accounts',
      written: [{ start: 0, count: 2 }],
      failed: [{ start: 2, count: 2, rows: rows(2, 2) }],
      uncertain: [],
      consumed: 4,
    })
    expect(e.message).toBe(
      'UpdateMultiple on accounts stopped: of 4 rows read, 2 were written, 2 were not and 0 may have been; rows from position 4 on were not read. First failure: POST accounts/Microsoft.Dynamics.CRM.UpdateMultiple failed with 400 (0x80040237): failed with 400 See error.bulk to resend what was not written.',
    )
    expect(e.cause).toBe(e.bulk?.failed[0]?.error)
  })

  it('with continueOnError sends every chunk and reports every failure, sorted by position', async () => {
    const h = harness((_b, n) => (n % 2 === 0 ? error(400) : new Response(null, { status: 204 })))
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, rows(5), { chunkSize: 1, continueOnError: true }),
    )
    expect(h.sent).toHaveLength(5)
    expect(e.bulk?.written.map((c) => c.start)).toEqual([0, 2, 4])
    expect(e.bulk?.failed.map((c) => c.start)).toEqual([1, 3])
    expect(e.message).toContain(
      'of 5 rows read, 3 were written, 2 were not and 0 may have been. First failure',
    )
  })

  it('hands each written chunk to onChunk with its ids, and stops when onChunk throws', async () => {
    const seen: unknown[] = []
    const h = harness((body, n) => ids(body.Targets, (n - 1) * 10))
    await h.client.createMultiple(ACCOUNTS, rows(3), { chunkSize: 2, onChunk: (c) => seen.push(c) })
    expect(seen).toEqual([
      {
        start: 0,
        count: 2,
        ids: ['00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000001'],
      },
      { start: 2, count: 1, ids: ['00000000-0000-0000-0000-000000000010'] },
    ])
    const t = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(
      t.client.updateMultiple(ACCOUNTS, rows(6), {
        chunkSize: 2,
        onChunk: () => {
          throw new Error('checkpoint store is down')
        },
      }),
    )
    expect(e.cause).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'UpdateMultiple: reading the rows failed: Error: checkpoint store is down',
    })
    expect(e.bulk?.written).toEqual([{ start: 0, count: 2 }])
    expect(t.sent).toHaveLength(1)
  })

  it('an input that throws ends the run: a partial chunk is failed, nothing more is read', async () => {
    async function* broken() {
      yield { name: 'a' }
      yield { name: 'b' }
      yield { name: 'c' }
      throw new Error('disk read error')
    }
    const h = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(h.client.updateMultiple(ACCOUNTS, broken(), { chunkSize: 2 }))
    expect(e.bulk).toMatchObject({
      written: [{ start: 0, count: 2 }],
      failed: [{ start: 2, count: 1 }],
      consumed: 3,
    })
    expect(e.bulk?.failed[0]?.error.message).toBe(
      'UpdateMultiple: reading the rows failed: Error: disk read error',
    )
    expect(e.message).not.toContain('were not read')
    async function* brokenAtOnce() {
      yield* []
      throw new Error('no file')
    }
    const e2 = await incomplete(h.client.updateMultiple(ACCOUNTS, brokenAtOnce()))
    expect(e2.bulk).toMatchObject({ written: [], failed: [], consumed: 0 })
  })

  it('an abort stops reading and closes the input; the error says where to go on', async () => {
    const controller = new AbortController()
    let closed = false
    function* input() {
      try {
        for (let i = 0; ; i++) yield { name: `r${i}` }
      } finally {
        closed = true
      }
    }
    const h = harness(() => {
      controller.abort(new Error('shutting down'))
      return new Response(null, { status: 204 })
    })
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, input(), { chunkSize: 2, signal: controller.signal }),
    )
    expect(closed).toBe(true)
    expect(e.cause).toMatchObject({ code: 'ABORTED' })
    expect(e.message).toContain('were not read')
  })
})

describe('bulk: more rules', () => {
  it('a chunk refused before it was sent (no token, a request the HTTP client refused) is failed, not uncertain', async () => {
    const noToken = harness(() => new Response(null, { status: 204 }), {
      getToken: () => {
        throw new Error('AADSTS7000215')
      },
    })
    const e1 = await incomplete(noToken.client.updateMultiple(ACCOUNTS, rows(1)))
    expect(e1.bulk).toMatchObject({
      failed: [{ start: 0, count: 1, error: { code: 'TOKEN' } }],
      uncertain: [],
    })
    const refused = harness(() =>
      Object.assign(new TypeError('invalid request path'), { code: 'UND_ERR_INVALID_ARG' }),
    )
    const e2 = await incomplete(refused.client.updateMultiple(ACCOUNTS, rows(1)))
    expect(e2.bulk).toMatchObject({ failed: [{ error: { code: 'INVALID_ARGUMENT' } }], uncertain: [] })
    const server = harness(() => error(501))
    const e3 = await incomplete(server.client.updateMultiple(ACCOUNTS, rows(1)))
    expect(e3.bulk).toMatchObject({ failed: [], uncertain: [{ start: 0 }] })
  })

  it('names the table argument it refuses: a table that is no object, a bad entity set or logical name', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    await expect(h.client.updateMultiple('accounts' as never, [])).rejects.toMatchObject({
      message:
        "UpdateMultiple needs the table as { entitySet, logicalName }, e.g. { entitySet: 'accounts', logicalName: 'account' }.",
    })
    await expect(
      h.client.updateMultiple({ entitySet: 'a b', logicalName: 'account' }, []),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^Entity set "a b"/),
    })
    await expect(
      h.client.updateMultiple({ entitySet: 'accounts', logicalName: 'a b' }, []),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^Logical name "a b"/),
    })
  })

  it('refuses a null row with its position in the input', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, [{ name: 'a' }, { name: 'b' }, { name: 'c' }, null as never], {
        chunkSize: 2,
      }),
    )
    expect(e.bulk?.failed[0]?.error.message).toBe(
      'Row 3 of UpdateMultiple is not an object; pass each row as a JSON object.',
    )
  })

  it('an input error names the operation and the request, and is cut to 300 characters', async () => {
    // biome-ignore lint/correctness/useYield: an input that fails before its first row
    async function* broken(): AsyncGenerator<Row> {
      throw new Error('x'.repeat(500))
    }
    const h = harness(() => new Response(null, { status: 204 }))
    const e = await incomplete(h.client.updateMultiple(ACCOUNTS, broken()))
    expect(e.cause).toMatchObject({ method: 'POST', path: 'accounts/Microsoft.Dynamics.CRM.UpdateMultiple' })
    expect((e.cause as Error).message).toHaveLength(300)
  })

  it('a create answer with a non-string among its ids is refused, naming the request', async () => {
    const h = harness(() => Response.json({ Ids: ['00000000-0000-0000-0000-000000000001', 2] }))
    const e = await incomplete(h.client.createMultiple(ACCOUNTS, rows(2)))
    expect(e.bulk?.uncertain[0]?.error).toMatchObject({ code: 'INVALID_RESPONSE', method: 'POST' })
  })

  it('a signal aborted before the call sends nothing and reads nothing', async () => {
    const h = harness(() => new Response(null, { status: 204 }))
    let read = 0
    function* input() {
      for (;;) {
        read++
        yield { name: 'r' }
      }
    }
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, input(), { signal: AbortSignal.abort(new Error('stop')) }),
    )
    expect(h.sent).toHaveLength(0)
    expect(read).toBe(0)
    expect(e.bulk?.consumed).toBe(0)
    expect(e.cause).toMatchObject({
      code: 'ABORTED',
      message: 'POST accounts/Microsoft.Dynamics.CRM.UpdateMultiple was aborted by the caller.',
    })
  })

  it('sends as many chunks at once as the limiter allows, and reports chunks by position however they finish', async () => {
    let inFlight = 0
    let most = 0
    const h = harness(
      async (_body, n) => {
        inFlight++
        most = Math.max(most, inFlight)
        // later chunks answer first
        await new Promise((r) => setTimeout(r, 40 - n * 10))
        inFlight--
        return n === 4 ? new Response(null, { status: 204 }) : error(400)
      },
      { concurrency: 4 },
    )
    const e = await incomplete(
      h.client.updateMultiple(ACCOUNTS, rows(4), { chunkSize: 1, continueOnError: true }),
    )
    expect(most).toBe(4)
    expect(e.bulk?.failed.map((c) => c.start)).toEqual([0, 1, 2])
    expect(e.bulk?.written.map((c) => c.start)).toEqual([3])
  })
})
