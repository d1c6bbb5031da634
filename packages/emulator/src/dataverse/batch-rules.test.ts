import { beforeAll, describe, expect, it } from 'vitest'
import {
  type BatchItem,
  type BatchRequest,
  boundaryOf,
  countRequests,
  executeBatch,
  MAX_BATCH_REQUESTS,
  parseBatch,
} from './batch.ts'
import { DataverseFault } from './errors.ts'
import type { OrgCore } from './org-core.ts'
import type { ApiResponse, CallContext } from './request.ts'
import { type BatchOp, batchBody, setup } from './test-support.ts'

// The emulator's $batch reader and writer rule by rule (Microsoft Learn, "Execute batch operations using the Web
// API", and OData 4.0 §11.7 multipart batch): what it accepts, what it refuses with which message, and the exact form
// of its answer. Found by mutation testing: batch.test.ts sends only well-formed CRLF bodies.

const API = '/api/data/v9.2'
const CT = 'multipart/mixed; boundary=b'

/** A parsed request as plain data: method, target, headers, body, and whether a Content-ID was given at all. */
function plain(r: BatchRequest) {
  return {
    method: r.method,
    target: r.target,
    headers: Object.fromEntries(r.headers),
    body: r.body,
    contentId: 'contentId' in r ? r.contentId : 'absent',
  }
}

function parsed(body: string, contentType = CT) {
  return parseBatch(body, contentType).map((item) =>
    item.kind === 'request' ? { request: plain(item.request) } : { changeset: item.requests.map(plain) },
  )
}

/** The 400 fault a malformed body gives, as `code: message`. */
function refusal(body: string, contentType: string | null = CT): string {
  try {
    parseBatch(body, contentType)
  } catch (e) {
    if (e instanceof DataverseFault) return `${e.status} ${e.code}: ${e.message}`
    throw e
  }
  throw new Error('parseBatch accepted the body')
}

const syntax = (message: string) => `400 0x80060888: ${message}`

describe('boundaryOf: only multipart/mixed carries a batch boundary', () => {
  it('reads a quoted or bare boundary, with spaces around = and before ;, in any case', () => {
    expect(boundaryOf('multipart/mixed; boundary="batch_1"')).toBe('batch_1')
    expect(boundaryOf('  Multipart/Mixed ;boundary = b2')).toBe('b2')
    expect(boundaryOf('multipart/mixed;BOUNDARY=b3; charset=utf-8')).toBe('b3')
    expect(boundaryOf('multipart/mixed; xboundary=a; boundary=b4')).toBe('b4')
  })

  it('gives none for other types, a type that only contains multipart/mixed, or another parameter', () => {
    for (const type of [
      null,
      '',
      'application/json; boundary=x',
      'xmultipart/mixed; boundary=x',
      'application/multipart/mixed; boundary=x',
      'multipart/mixedx; boundary=x',
      'multipart/mixed',
      'multipart/mixed; boundaryx=b',
    ]) {
      expect(boundaryOf(type), String(type)).toBeUndefined()
    }
  })
})

describe('parseBatch: reading parts', () => {
  it('reads CRLF parts with their Content-ID, headers and body, and no Content-ID where none was given', () => {
    const body =
      '--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n' +
      'GET accounts?$select=name HTTP/1.1\r\nAccept: application/json\r\n\r\n' +
      '--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n' +
      '--cs\r\nContent-Type: application/http\r\nContent-ID: 12\r\n\r\n' +
      'POST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"name":"A"}\r\n' +
      '--cs--\r\n--b--\r\n'
    expect(parsed(body)).toStrictEqual([
      {
        request: {
          method: 'GET',
          target: 'accounts?$select=name',
          headers: { accept: 'application/json' },
          body: undefined,
          contentId: 'absent',
        },
      },
      {
        changeset: [
          {
            method: 'POST',
            target: 'accounts',
            headers: { 'content-type': 'application/json' },
            body: '{"name":"A"}',
            contentId: '12',
          },
        ],
      },
    ])
  })

  it('reads bare-LF line endings, transport padding after the delimiter and blank lines before the request line', () => {
    const body =
      '--b  \nContent-Type: application/http\nContent-ID: 5\n\n\n\n' +
      'PATCH accounts(1) HTTP/1.1\nContent-Type : application/json\nIf-Match: *\n\n{"name":"B"}\n' +
      '--b--'
    expect(parsed(body)).toStrictEqual([
      {
        request: {
          method: 'PATCH',
          target: 'accounts(1)',
          headers: { 'content-type': 'application/json', 'if-match': '*' },
          body: '{"name":"B"}',
          contentId: '5',
        },
      },
    ])
  })

  it('skips CRLF blank lines before the request line', () => {
    const body =
      '--b\r\nContent-Type: application/http\r\n\r\n\r\n\r\nDELETE accounts(2) HTTP/1.1\r\n\r\n\r\n\r\n--b--'
    expect(parsed(body)).toStrictEqual([
      {
        request: {
          method: 'DELETE',
          target: 'accounts(2)',
          headers: {},
          body: undefined,
          contentId: 'absent',
        },
      },
    ])
  })

  it('keeps a body’s own trailing whitespace but drops the line break before the next delimiter', () => {
    const body =
      '--b\nContent-Type: application/http\n\nPOST accounts HTTP/1.1\nContent-Type: application/json\n\n{\n}  \n\n--b--'
    expect(parsed(body)[0]).toStrictEqual({
      request: {
        method: 'POST',
        target: 'accounts',
        headers: { 'content-type': 'application/json' },
        body: '{\n}  \n',
        contentId: 'absent',
      },
    })
  })

  it('counts each request of a change set', () => {
    const items: BatchItem[] = parseBatch(
      '--b\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n' +
        '--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n' +
        '--cs\r\nContent-Type: application/http\r\n\r\nDELETE accounts(1) HTTP/1.1\r\n\r\n' +
        '--cs\r\nContent-Type: application/http\r\n\r\nDELETE accounts(2) HTTP/1.1\r\n\r\n' +
        '--cs\r\nContent-Type: application/http\r\n\r\nDELETE accounts(3) HTTP/1.1\r\n\r\n--cs--\r\n--b--\r\n',
      CT,
    )
    expect(countRequests(items)).toBe(4)
  })
})

describe('parseBatch: refusals name what is wrong', () => {
  const part = (http: string, mime = 'Content-Type: application/http\r\n') => `--b\r\n${mime}\r\n${http}--b--`

  it('refuses a body without a multipart/mixed boundary, or without its closing delimiter', () => {
    expect(refusal('{}', 'application/json')).toBe(
      syntax('A $batch request needs Content-Type: multipart/mixed with a boundary.'),
    )
    expect(refusal('--b\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n')).toBe(
      syntax("The batch body has no closing delimiter '--b--'."),
    )
  })

  it('refuses a part that is not application/http, or has no MIME headers at all', () => {
    const need = syntax('Each batch part must have Content-Type: application/http.')
    expect(refusal(part('GET WhoAmI HTTP/1.1\r\n\r\n', 'Content-Type: x-application/http\r\n'))).toBe(need)
    expect(refusal(part('GET WhoAmI HTTP/1.1\r\n\r\n', 'Content-ID: 1\r\n'))).toBe(need)
    expect(refusal('--b\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n--b--')).toBe(need)
  })

  it('refuses a header line without a name or colon, or with a name HTTP does not allow, quoting 80 characters', () => {
    const long = `X${'y'.repeat(120)}`
    expect(
      refusal(part('GET WhoAmI HTTP/1.1\r\n\r\n', `Content-Type: application/http\r\n${long}\r\n`)),
    ).toBe(syntax(`The batch part header line '${long.slice(0, 80)}' is not valid.`))
    expect(refusal(part('GET WhoAmI HTTP/1.1\r\nnonsense\r\n\r\n'))).toBe(
      syntax("The batch part header line 'nonsense' is not valid."),
    )
    const badName = `Bad Header${'z'.repeat(90)}: x`
    expect(refusal(part(`GET WhoAmI HTTP/1.1\r\n${badName}\r\n\r\n`))).toBe(
      syntax(`The batch part header line '${badName.slice(0, 80)}' is not valid.`),
    )
  })

  it('refuses a request line that is not METHOD target HTTP/1.1, quoting 100 characters', () => {
    const shape = (line: string) =>
      syntax(
        `The batch request line '${line.slice(0, 100)}' is not valid: each operation starts with 'Method RequestUrl HTTP/1.1'.`,
      )
    for (const line of [
      'GET',
      'GET WhoAmI',
      ' GET WhoAmI HTTP/1.1',
      'GET  HTTP/1.1',
      'GET WhoAmI HTTP/1.1 ',
    ]) {
      expect(refusal(part(`${line}\r\n\r\n`)), line).toBe(shape(line))
    }
    // Microsoft's OData batch reader takes the version after the last space and compares it exactly
    const version = (line: string, v: string) =>
      syntax(
        `The HTTP version '${v}' of the batch request line '${line.slice(0, 100)}' is not valid: it must be 'HTTP/1.1'.`,
      )
    for (const [line, v] of [
      ['GET WhoAmI HTTP/1.0', 'HTTP/1.0'],
      ['GET WhoAmI http/1.1', 'http/1.1'],
      ['GET WhoAmI HTTP/1.1 junk', 'junk'],
      [`GET ${'a'.repeat(120)} HTTP/2`, 'HTTP/2'],
      ['DELETE accounts(2) HTTP/1.1.1', 'HTTP/1.1.1'],
      [`GET WhoAmI ${'V'.repeat(50)}`, 'V'.repeat(40)], // the version is quoted at 40 characters
    ] as const) {
      expect(refusal(part(`${line}\r\n\r\n`)), line).toBe(version(line, v))
    }
    for (const [line, method] of [
      ['xGET WhoAmI HTTP/1.1', 'xGET'],
      ['get WhoAmI HTTP/1.1', 'get'],
      ['MERGE accounts(1) HTTP/1.1', 'MERGE'],
      ['OPTIONS accounts HTTP/1.1', 'OPTIONS'],
      [`${'M'.repeat(30)} accounts HTTP/1.1`, 'M'.repeat(20)], // the method is quoted at 20 characters
    ] as const) {
      expect(refusal(part(`${line}\r\n\r\n`)), line).toBe(
        syntax(
          `The batch request line '${line}' has the method '${method}': use GET, POST, PATCH, PUT or DELETE.`,
        ),
      )
    }
    // MIME headers with no blank line after them leave no request at all
    expect(refusal('--b\r\nContent-Type: application/http\r\n--b--')).toBe(shape(''))
  })

  it('refuses an embedded request whose headers are not ended by an empty line (a GET too), quoting 100 characters', () => {
    const line = `GET accounts?$select=${'name,'.repeat(30)} HTTP/1.1`
    expect(refusal(`--b\r\nContent-Type: application/http\r\n\r\n${line}\r\n--b--`)).toBe(
      syntax(
        `The batch request '${line.slice(0, 100)}' has no empty line after its headers; end them with an empty line even without a body.`,
      ),
    )
  })

  it('refuses a GET inside a change set', () => {
    expect(
      refusal(
        '--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\nContent-Type: application/http\r\n\r\n' +
          'GET WhoAmI HTTP/1.1\r\n\r\n--cs--\r\n--b--',
      ),
    ).toBe(syntax('A change set cannot contain GET requests.'))
  })

  it(`takes ${MAX_BATCH_REQUESTS} requests in change sets and refuses one more with 0x8006088b`, () => {
    const changeSet = (n: number, from: number) =>
      `--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n${Array.from(
        { length: n },
        (_, i) =>
          `--cs\r\nContent-Type: application/http\r\n\r\nDELETE accounts(${from + i}) HTTP/1.1\r\n\r\n`,
      ).join('')}--cs--\r\n`
    const full = `${changeSet(600, 0)}${changeSet(400, 600)}--b--`
    expect(countRequests(parseBatch(full, CT))).toBe(MAX_BATCH_REQUESTS)
    expect(refusal(`${changeSet(600, 0)}${changeSet(401, 600)}--b--`)).toBe(
      `400 0x8006088b: The number of requests in the batch exceeds the maximum of ${MAX_BATCH_REQUESTS}. Split it into smaller batches.`,
    )
  })
})

describe('executeBatch: the answer’s form', () => {
  const root = 'https://org.example/api/data/v9.2'
  const request = (method: string, target: string, contentId?: string): BatchRequest => ({
    method,
    target,
    headers: new Headers(),
    body: undefined,
    ...(contentId === undefined ? {} : { contentId }),
  })
  /** A core that answers each request with the next canned response; change sets run as they come. */
  function fakeCore(responses: ApiResponse[], atomically = <T>(run: () => T): T => run()): OrgCore {
    return {
      execute: () => responses.shift() as ApiResponse,
      errorResponse: (e: unknown) => ({
        status: 500,
        headers: {},
        body: JSON.stringify({ error: String(e) }),
      }),
      store: { atomically },
    } as unknown as OrgCore
  }
  const ctx = {} as CallContext
  /** The answer with its random boundaries named B and CS. */
  function answer(core: OrgCore, items: BatchItem[], continueOnError = false) {
    const r = executeBatch(core, ctx, items, root, continueOnError)
    const b = /boundary=(batchresponse_[0-9a-f-]{36})$/.exec(
      r.headers['Content-Type'] as string,
    )?.[1] as string
    const cs = /boundary=(changesetresponse_[0-9a-f-]{36})/.exec(r.body as string)?.[1]
    let body = (r.body as string).replaceAll(b, 'B')
    if (cs) body = body.replaceAll(cs, 'CS')
    return { status: r.status, body }
  }

  it('writes each part as application/http with OData-Version first, its Content-ID, headers and body, CRLF throughout', () => {
    const core = fakeCore([
      { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' },
      { status: 204, headers: { 'OData-EntityId': `${root}/accounts(1)` } },
      { status: 201, headers: { Location: `${root}/accounts(2)` }, body: '{}' },
    ])
    const { status, body } = answer(core, [
      { kind: 'request', request: request('GET', 'accounts(9)') },
      { kind: 'changeset', requests: [request('POST', 'accounts', '1'), request('POST', 'accounts')] },
    ])
    expect(status).toBe(200)
    expect(body).toBe(
      '--B\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nOData-Version: 4.0\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n' +
        '--B\r\nContent-Type: multipart/mixed; boundary=CS\r\n\r\n' +
        '--CS\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n' +
        `HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nOData-EntityId: ${root}/accounts(1)\r\n\r\n\r\n` +
        '--CS\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n' +
        `HTTP/1.1 201 Created\r\nOData-Version: 4.0\r\nLocation: ${root}/accounts(2)\r\n\r\n{}\r\n` +
        '--CS--\r\n--B--\r\n',
    )
  })

  it('gives each status its reason phrase, and Unknown to a status without one', () => {
    const statuses = [304, 412, 429, 599]
    const core = fakeCore(statuses.map((status) => ({ status, headers: {} })))
    const { body } = answer(
      core,
      statuses.map(() => ({ kind: 'request', request: request('GET', 'WhoAmI') })),
      true,
    )
    expect(body.match(/HTTP\/1\.1 [^\r]+/g)).toEqual([
      'HTTP/1.1 304 Not Modified',
      'HTTP/1.1 412 Precondition Failed',
      'HTTP/1.1 429 Too Many Requests',
      'HTTP/1.1 599 Unknown',
    ])
  })

  it('answers a failed change set with the failing part and its Content-ID, then stops with 400', () => {
    const core = fakeCore([
      { status: 204, headers: {} },
      { status: 412, headers: { 'Content-Type': 'application/json' }, body: '{"error":{}}' },
      { status: 200, headers: {}, body: '{}' },
    ])
    const { status, body } = answer(core, [
      {
        kind: 'changeset',
        requests: [request('PATCH', 'accounts(1)', '1'), request('PATCH', 'accounts(2)', '2')],
      },
      { kind: 'request', request: request('GET', 'WhoAmI') },
    ])
    expect(status).toBe(400)
    expect(body).toBe(
      '--B\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n' +
        'HTTP/1.1 412 Precondition Failed\r\nOData-Version: 4.0\r\nContent-Type: application/json\r\n\r\n{"error":{}}\r\n' +
        '--B--\r\n',
    )
  })

  it('with continue-on-error goes on after a failed change set and answers 200', () => {
    const core = fakeCore([
      { status: 400, headers: {}, body: '{}' },
      { status: 200, headers: {}, body: '{"UserId":"u"}' },
    ])
    const { status, body } = answer(
      core,
      [
        { kind: 'changeset', requests: [request('PATCH', 'accounts(1)')] },
        { kind: 'request', request: request('GET', 'WhoAmI') },
      ],
      true,
    )
    expect(status).toBe(200)
    expect(body).toContain('HTTP/1.1 400 Bad Request')
    expect(body).toContain('{"UserId":"u"}')
  })

  it('does not swallow a failure of the store itself', () => {
    const core = fakeCore([{ status: 204, headers: {} }], () => {
      throw new Error('the store is gone')
    })
    expect(() =>
      executeBatch(
        core,
        ctx,
        [{ kind: 'changeset', requests: [request('DELETE', 'accounts(1)')] }],
        root,
        true,
      ),
    ).toThrow('the store is gone')
  })
})

describe('$batch on the emulator: targets and references', () => {
  let env: Awaited<ReturnType<typeof setup>>
  beforeAll(async () => {
    env = await setup({ seed: { sampleData: false } })
  })

  /** How many accounts bear this name. */
  async function named(name: string): Promise<number> {
    const res = await env.request(`${API}/accounts?$select=name&$filter=name eq '${name}'`)
    return ((await res.json()) as { value: unknown[] }).value.length
  }
  async function send(items: (BatchOp | BatchOp[])[], prefer?: string) {
    const { body, contentType } = batchBody(items)
    const res = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': contentType, ...(prefer ? { Prefer: prefer } : {}) },
      body,
    })
    return { status: res.status, text: await res.text() }
  }

  it('resolves a multi-character Content-ID ($12) and lets a DELETE carry one that stands for nothing', async () => {
    const { status, text } = await send([
      [
        { method: 'POST', url: 'accounts', body: { name: 'Twelve' }, contentId: '12' },
        { method: 'POST', url: 'accounts', body: { name: 'One' }, contentId: '1' },
        { method: 'PATCH', url: '$12', body: { telephone1: '12' }, contentId: '3' },
        { method: 'DELETE', url: '$1', contentId: '4' },
      ],
    ])
    expect(status).toBe(200)
    expect(text.match(/HTTP\/1\.1 204 No Content/g)).toHaveLength(4)
    const rows = (await (
      await env.request(`${API}/accounts?$filter=name eq 'Twelve' or name eq 'One'&$select=name,telephone1`)
    ).json()) as { value: { name: string; telephone1: string | null }[] }
    expect(rows.value).toEqual([expect.objectContaining({ name: 'Twelve', telephone1: '12' })])
  })

  it('refuses a Content-ID reference outside a change set with 400, and stops the batch there', async () => {
    const { status, text } = await send([
      { method: 'GET', url: '$1' },
      { method: 'POST', url: 'accounts', body: { name: 'never made' } },
    ])
    expect(status).toBe(400)
    expect(text).toContain('HTTP/1.1 400 Bad Request')
    expect(text).toContain("Content-ID Reference: '$1' does not exist in the batch context.")
    expect(text).not.toContain('HTTP/1.1 204')
    expect(await named('never made')).toBe(0)
  })

  it('reads a relative target whose query holds a URL, a path from the origin, and an absolute URL', async () => {
    const { status, text } = await send([
      { method: 'GET', url: "accounts?$select=name&$filter=websiteurl%20eq%20'http://example.com/a'" },
      { method: 'GET', url: `${API}/WhoAmI` },
      { method: 'GET', url: `${env.url}${API}/WhoAmI` },
    ])
    expect(status).toBe(200)
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3)
  })

  it('resolves a relative target ending in / against the service root, not the origin', async () => {
    const { text } = await send([{ method: 'GET', url: 'accounts/' }])
    // what GET {root}/accounts/ answers: the service read the empty segment after accounts
    expect(text).toContain("Resource not found for the segment ''.")
  })

  it('refuses an invalid target URL and a nested $batch with 400', async () => {
    const invalid = await send([{ method: 'GET', url: 'http://[' }])
    expect(invalid.status).toBe(400)
    expect(invalid.text).toContain("The batch request URL 'http://[' is not valid.")
    const long = `http://[${'a'.repeat(250)}`
    expect((await send([{ method: 'GET', url: long }])).text).toContain(
      `The batch request URL '${long.slice(0, 200)}' is not valid.`,
    )
    const nested = await send([{ method: 'POST', url: `${API}/$batch`, body: {} }])
    expect(nested.status).toBe(400)
    expect(nested.text).toContain('Nested $batch requests are not supported.')
  })

  it('stops at a failed request outside a change set: 400, and nothing after it runs', async () => {
    const { status, text } = await send([
      { method: 'GET', url: 'accounts?$select=notacolumn' },
      { method: 'POST', url: 'accounts', body: { name: 'after a 400' } },
    ])
    expect(status).toBe(400)
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1)
    expect(await named('after a 400')).toBe(0)
  })
})
