import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createDataverseClient, type DataverseClientOptions } from '../src/index.ts'
import { bounded, guarded } from './runaway.ts'

// What a server asks for (Retry-After) and which requests may be repeated are the two promises of the retry policy.
// Time is faked: each test moves the clock and counts what was sent at each instant.

const ORG = 'https://contoso.crm.dynamics.com'
const ID = '11111111-2222-3333-4444-555555555555'

type Handler = (request: Request, n: number) => Response | Promise<Response>

function harness(handler: Handler, options: Partial<DataverseClientOptions> = {}) {
  const requests: Request[] = []
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    requests.push(request)
    return handler(request, requests.length)
  }) as typeof globalThis.fetch
  // A tiny backoff, so a client that ignored Retry-After would retry within milliseconds.
  const client = guarded(
    createDataverseClient({
      url: ORG,
      getToken: bounded(() => 'tok'),
      fetch,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    }),
  )
  return { client, requests }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const odataError = (status: number, code: string, headers: Record<string, string> = {}) =>
  json({ error: { code, message: 'try later' } }, status, headers)

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Retry-After', () => {
  for (const status of [502, 503, 504]) {
    it(`waits the Retry-After of a ${status} before the retry, not the (shorter) backoff`, async () => {
      const { client, requests } = harness((_r, n) =>
        n === 1 ? odataError(status, '', { 'Retry-After': '2' }) : json({ value: [{ n }] }),
      )
      const result = client.query('accounts')
      await vi.advanceTimersByTimeAsync(1_990)
      expect(requests).toHaveLength(1)
      await vi.advanceTimersByTimeAsync(20)
      await expect(result).resolves.toEqual({ value: [{ n: 2 }] })
      expect(requests).toHaveLength(2)
    })
  }

  it('waits the Retry-After of a 429 before sending again (no earlier retry)', async () => {
    const { client, requests } = harness((_r, n) =>
      n === 1 ? odataError(429, '0x80072322', { 'Retry-After': '3' }) : json({ value: [] }),
    )
    const result = client.query('accounts')
    await vi.advanceTimersByTimeAsync(2_990)
    expect(requests).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(20)
    await expect(result).resolves.toEqual({ value: [] })
    expect(requests).toHaveLength(2)
  })

  it('a 429 holds the other requests of the org until Retry-After has passed', async () => {
    const { client, requests } = harness(
      (_r, n) => (n === 1 ? odataError(429, '0x80072322', { 'Retry-After': '3' }) : json({ value: [] })),
      { concurrency: 1 },
    )
    const first = client.query('accounts')
    await vi.advanceTimersByTimeAsync(1)
    const second = client.query('contacts')
    await vi.advanceTimersByTimeAsync(2_900)
    expect(requests).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(200)
    await Promise.all([first, second])
    expect(requests).toHaveLength(3)
  })
})

const batchResponse = (parts: string[]) =>
  new Response(
    [
      '--batchresponse_1',
      ...parts.flatMap((p, i) => (i ? ['--batchresponse_1', p] : [p])),
      '--batchresponse_1--',
      '',
    ].join('\r\n'),
    {
      status: 200,
      headers: { 'content-type': 'multipart/mixed; boundary=batchresponse_1' },
    },
  )
const okQueryPart = [
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  '',
  'HTTP/1.1 200 OK',
  'Content-Type: application/json',
  '',
  '{"value":[]}',
].join('\r\n')

describe('$batch retries', () => {
  it('never repeats a batch answered 503 whose creates are outside one change set (they could run twice)', async () => {
    const { client, requests } = harness(() => odataError(503, '', { 'Retry-After': '1' }))
    const batch = client.batch()
    batch.create('accounts', { name: 'a' })
    batch.query('accounts')
    const run = batch.execute().catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(await run).toMatchObject({ code: 'SERVER', status: 503 })
    expect(requests).toHaveLength(1)
  })

  it('repeats a batch of reads answered 503, after Retry-After', async () => {
    const { client, requests } = harness((_r, n) =>
      n === 1 ? odataError(503, '', { 'Retry-After': '1' }) : batchResponse([okQueryPart]),
    )
    const batch = client.batch()
    batch.query('accounts')
    const run = batch.execute()
    await vi.advanceTimersByTimeAsync(1_100)
    const results = await run
    expect(results.map((r) => r.ok)).toEqual([true])
    expect(requests).toHaveLength(2)
  })

  it('repeats a batch that is one change set (atomic: it ran entirely or not at all)', async () => {
    const { client, requests } = harness((_r, n) =>
      n === 1
        ? odataError(503, '', { 'Retry-After': '1' })
        : batchResponse([
            [
              'Content-Type: multipart/mixed; boundary=cs_1',
              '',
              '--cs_1',
              'Content-Type: application/http',
              'Content-Transfer-Encoding: binary',
              'Content-ID: 1',
              '',
              'HTTP/1.1 204 No Content',
              `OData-EntityId: ${ORG}/api/data/v9.2/accounts(${ID})`,
              '',
              '',
              '--cs_1--',
            ].join('\r\n'),
          ]),
    )
    const batch = client.batch()
    batch.changeSet((cs) => {
      cs.create('accounts', { name: 'a' })
    })
    const run = batch.execute()
    await vi.advanceTimersByTimeAsync(1_100)
    const results = await run
    expect(results[0]?.ok && results[0].id).toBe(ID)
    expect(requests).toHaveLength(2)
  })
})

describe('$batch change sets', () => {
  it('counts a change set failed on a 4xx part, even when every operation has a part', async () => {
    vi.useRealTimers()
    const { client } = harness(() =>
      batchResponse([
        [
          'Content-Type: multipart/mixed; boundary=cs_1',
          '',
          '--cs_1',
          'Content-Type: application/http',
          'Content-Transfer-Encoding: binary',
          'Content-ID: 1',
          '',
          'HTTP/1.1 204 No Content',
          `OData-EntityId: ${ORG}/api/data/v9.2/accounts(${ID})`,
          '',
          '',
          '--cs_1',
          'Content-Type: application/http',
          'Content-Transfer-Encoding: binary',
          'Content-ID: 2',
          '',
          'HTTP/1.1 400 Bad Request',
          'Content-Type: application/json',
          '',
          '{"error":{"code":"0x80044331","message":"A validation error occurred."}}',
          '--cs_1--',
        ].join('\r\n'),
      ]),
    )
    const batch = client.batch()
    batch.changeSet((cs) => {
      cs.create('accounts', { name: 'a' })
      cs.create('accounts', { name: 'b' })
    })
    const results = await batch.execute()
    expect(results.map((r) => r.ok)).toEqual([false, false])
    expect(results[0]?.ok === false && results[0].error.code).toBe('BATCH_ROLLED_BACK')
    expect(results[1]?.ok === false && results[1].error).toMatchObject({
      status: 400,
      serviceCode: '0x80044331',
    })
  })
})
