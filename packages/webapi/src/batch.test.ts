import { describe, expect, it } from 'vitest'
import { guarded } from '../test/runaway.ts'
import { createDataverseClient } from './client.ts'

const ORG = 'https://contoso.crm.dynamics.com'
const A = '11111111-2222-3333-4444-555555555555'

function client(respond: (body: string, contentType: string) => Response) {
  const sent: { body: string; contentType: string; prefer: string | null }[] = []
  const c = guarded(
    createDataverseClient({
      url: ORG,
      getToken: () => 'tok',
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init)
        const body = await request.text()
        const contentType = request.headers.get('content-type') ?? ''
        sent.push({ body, contentType, prefer: request.headers.get('prefer') })
        return respond(body, contentType)
      }) as typeof fetch,
    }),
  )
  return { c, sent }
}

// A response shaped like Dataverse's (powerapps-docs execute-batch-operations-using-web-api).
const RESPONSE = [
  '--batchresponse_1d9e',
  'Content-Type: multipart/mixed; boundary=changesetresponse_77a1',
  '',
  '--changesetresponse_77a1',
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  'Content-ID: 1',
  '',
  'HTTP/1.1 204 No Content',
  'OData-Version: 4.0',
  `OData-EntityId: ${ORG}/api/data/v9.2/accounts(${A})`,
  '',
  '',
  '--changesetresponse_77a1',
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  'Content-ID: 2',
  '',
  'HTTP/1.1 204 No Content',
  `OData-EntityId: ${ORG}/api/data/v9.2/contacts(${A.replace('1111', '9999')})`,
  '',
  '',
  '--changesetresponse_77a1--',
  '--batchresponse_1d9e',
  'Content-Type: multipart/mixed; boundary=changesetresponse_88b2',
  '',
  '--changesetresponse_88b2',
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  'Content-ID: 4',
  '',
  'HTTP/1.1 404 Not Found',
  'Content-Type: application/json; odata.metadata=minimal',
  '',
  '{"error":{"code":"0x80040217","message":"account With Id = 0 Does Not Exist"}}',
  '--changesetresponse_88b2--',
  '--batchresponse_1d9e',
  'Content-Type: application/http',
  'Content-Transfer-Encoding: binary',
  '',
  'HTTP/1.1 200 OK',
  'Content-Type: application/json; odata.metadata=minimal',
  '',
  '{"value":[{"name":"x"}]}',
  '--batchresponse_1d9e--',
  '',
].join('\r\n')

describe('batch', () => {
  it('writes change sets with Content-IDs and $n references, and maps every response to its operation', async () => {
    const { c, sent } = client(
      () =>
        new Response(RESPONSE, {
          status: 200,
          headers: { 'content-type': 'multipart/mixed; boundary=batchresponse_1d9e' },
        }),
    )
    const batch = c.batch({ continueOnError: true })
    batch.changeSet((cs) => {
      const account = cs.create('accounts', { name: 'a' })
      cs.create('contacts', { lastname: 'b', 'parentcustomerid_account@odata.bind': account.ref })
    })
    batch.changeSet((cs) => {
      cs.create('accounts', { name: 'rolled back' })
      cs.update('accounts', '00000000-0000-0000-0000-000000000000', { name: 'missing' })
    })
    batch.query('accounts', { select: ['name'] })
    expect(batch.size).toBe(5)
    const results = await batch.execute()

    const request = sent[0] as { body: string; contentType: string; prefer: string | null }
    expect(request.prefer).toBe('odata.continue-on-error')
    const boundary = /boundary=(\S+)/.exec(request.contentType)?.[1] as string
    expect(request.body.startsWith(`--${boundary}\r\n`)).toBe(true)
    expect(request.body.trimEnd().endsWith(`--${boundary}--`)).toBe(true)
    expect(request.body).toContain('Content-ID: 1\r\n\r\nPOST /api/data/v9.2/accounts HTTP/1.1')
    expect(request.body).toContain('"parentcustomerid_account@odata.bind":"$1"')
    expect(request.body).toContain(
      'Content-ID: 4\r\n\r\nPATCH /api/data/v9.2/accounts(00000000-0000-0000-0000-000000000000) HTTP/1.1',
    )
    expect(request.body).toContain('GET /api/data/v9.2/accounts?$select=name HTTP/1.1')

    expect(results.map((r) => [r.index, r.ok])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, false],
      [4, true],
    ])
    expect(results[0]?.ok && results[0].id).toBe(A)
    expect(results[2]?.ok === false && results[2].error.code).toBe('BATCH_ROLLED_BACK')
    expect(results[3]?.ok === false && results[3].error).toMatchObject({
      code: 'NOT_FOUND',
      serviceCode: '0x80040217',
    })
    expect(results[4]?.ok && results[4].body).toEqual({ value: [{ name: 'x' }] })
  })

  it('refuses more than 1,000 operations and a second execute', async () => {
    const { c } = client(
      () => new Response('', { status: 200, headers: { 'content-type': 'multipart/mixed; boundary=b' } }),
    )
    const batch = c.batch()
    for (let i = 0; i < 1000; i++) batch.retrieve('accounts', A)
    expect(() => batch.retrieve('accounts', A)).toThrow(/1,000/)
    const small = c.batch()
    small.retrieve('accounts', A)
    await small.execute()
    await expect(small.execute()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('a whole-batch failure rejects with one DataverseError, not an array', async () => {
    const { c } = client(() =>
      Response.json({ error: { code: '0x80040220', message: 'denied' } }, { status: 403 }),
    )
    const batch = c.batch()
    batch.retrieve('accounts', A)
    const error = await batch.execute().catch((e: unknown) => e)
    expect(Array.isArray(error)).toBe(false)
    expect(error).toMatchObject({ name: 'DataverseError', code: 'FORBIDDEN', status: 403 })
  })
})
