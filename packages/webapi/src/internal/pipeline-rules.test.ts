import { afterEach, describe, expect, it, vi } from 'vitest'
import { within } from '../../test/runaway.ts'
import { DataverseError } from '../errors.ts'
import type { ClientClock, GetToken, Logger } from '../types.ts'
import { Deadlines } from './deadlines.ts'
import type { HttpRequest, HttpResponse } from './http.ts'
import {
  type PipelineConfig,
  type ResolvedRetry,
  realSleep,
  resolveUrl,
  type SendSpec,
  send,
} from './pipeline.ts'
import type { Gate } from './shared-governor.ts'
import type { Telemetry } from './telemetry.ts'

// send() rule by rule (found by mutation testing), against a scripted transport, a recording gate and a virtual
// clock, so every retry and wait is exact and takes no real time. Microsoft Learn, "Service protection API limits":
// a 429 carries Retry-After in seconds and the error code says which limit was hit (0x80072322 requests,
// 0x80072321 execution time, 0x80072326 concurrency); x-ms-dop-hint is the recommended parallelism.

const ORIGIN = 'https://org.example'
/** No test here needs more attempts than this; more means a retry bound broke. */
const RUNAWAY = 50
const BASE = `${ORIGIN}/api/data/v9.2/`

interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string
}
type Script = (request: HttpRequest, n: number) => Reply | Promise<Reply> | Error

function setup(script: Script, overrides: Partial<PipelineConfig> = {}) {
  const requests: HttpRequest[] = []
  const discarded: number[] = []
  const transport = async (request: HttpRequest): Promise<HttpResponse> => {
    requests.push(request)
    // a broken retry bound must fail the test, not spin until the runner's timeout
    if (requests.length > RUNAWAY) throw new Error(`runaway: more than ${RUNAWAY} requests`)
    const reply = await script(request, requests.length)
    if (reply instanceof Error) throw reply
    const headers = Object.fromEntries(
      Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    )
    return {
      status: reply.status,
      header: (name) => headers[name],
      text: async () => reply.body ?? '',
      bytes: async () => new TextEncoder().encode(reply.body ?? ''),
      discard: async () => {
        discarded.push(reply.status)
      },
    }
  }
  // what the gate was told; it grants every request at once, so the pipeline's own waits are what the clock records
  const gate = {
    acquired: [] as boolean[],
    held: 0,
    responses: [] as [number | undefined, number | undefined][],
    throttles: [] as [number, boolean][],
  }
  const governor: Gate = {
    limit: 8,
    wantsDopHint: true,
    wantsRemaining: true,
    acquire: (_signal, first = false) => {
      gate.acquired.push(first)
      if (gate.acquired.length > RUNAWAY)
        return Promise.reject(new Error(`runaway: more than ${RUNAWAY} attempts`))
      gate.held++
      return undefined
    },
    release: () => {
      gate.held--
    },
    onResponse: (dop, remaining) => {
      gate.responses.push([dop, remaining])
    },
    onThrottle: (ms, concurrency) => {
      gate.throttles.push([ms, concurrency])
    },
  }
  let t = 1_000_000
  const slept: number[] = []
  const clock: ClientClock = {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms)
      t += ms
    },
  }
  const tokens: { forceRefresh: boolean; signal: AbortSignal | undefined }[] = []
  const getToken: GetToken = (_resource, o) => {
    tokens.push({ forceRefresh: o.forceRefresh, signal: o.signal })
    return o.forceRefresh ? 'token-2' : 'token-1'
  }
  const logged: { level: string; message: string; fields: Record<string, unknown> }[] = []
  const logger: Logger = {
    debug: (message, fields) => logged.push({ level: 'debug', message, fields }),
    warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
  }
  const config: PipelineConfig = {
    baseUrl: BASE,
    origin: ORIGIN,
    resource: ORIGIN,
    getToken,
    transport,
    governor,
    retry: {
      enabled: true,
      maxAttempts: 4,
      budgetMs: 60_000,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      retryCreates: false,
    },
    timeoutMs: 30_000,
    logger,
    baseHeaders: { accept: 'application/json', 'odata-version': '4.0' },
    telemetry: undefined,
    clock,
    deadlines: new Deadlines(),
    ...overrides,
  }
  // Bounded: a send left pending by a broken guard fails in seconds, not at the runner's timeout.
  const run = (spec: Partial<SendSpec> = {}) =>
    within(send(config, { method: 'GET', path: 'accounts', idempotent: true, ...spec }), 'send()', 5_000)
  return { run, requests, discarded, gate, slept, tokens, logged, config }
}

async function failure(p: Promise<unknown>): Promise<DataverseError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof DataverseError)) throw new Error(`expected a DataverseError, got ${String(error)}`)
  return error
}

const ok: Reply = { status: 200, body: '{"ok":true}' }
/** Retries at once, up to ten times: for tests about what is retried, not about when. */
const FAST_RETRY: ResolvedRetry = {
  enabled: true,
  maxAttempts: 10,
  budgetMs: 60_000,
  baseDelayMs: 1,
  maxDelayMs: 1,
  retryCreates: false,
}
const throttled = (code: string, retryAfter?: string): Reply => ({
  status: 429,
  headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
  body: JSON.stringify({ error: { code, message: 'Number of requests exceeded the limit.' } }),
})

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('send: the request', () => {
  it('sends the base headers, If-None-Match: null on every request (a write too), the call’s own headers over them, and the bearer token', async () => {
    const s = setup(() => ok)
    await s.run({ query: '?$select=name' })
    await s.run({ method: 'PATCH', path: 'accounts(1)', body: '{}', idempotent: true })
    await s.run({ headers: { 'if-none-match': 'W/"7"', accept: 'text/plain' } })
    expect(s.requests.map((r) => r.headers)).toEqual([
      {
        accept: 'application/json',
        'odata-version': '4.0',
        'if-none-match': 'null',
        authorization: 'Bearer token-1',
      },
      {
        accept: 'application/json',
        'odata-version': '4.0',
        'if-none-match': 'null',
        authorization: 'Bearer token-1',
      },
      {
        accept: 'text/plain',
        'odata-version': '4.0',
        'if-none-match': 'W/"7"',
        authorization: 'Bearer token-1',
      },
    ])
    expect(s.requests[0]).toMatchObject({
      method: 'GET',
      url: `${BASE}accounts?$select=name`,
      origin: ORIGIN,
      path: '/api/data/v9.2/accounts?$select=name',
      body: undefined,
      signal: undefined,
    })
    expect(s.requests[1]?.body).toBe('{}')
  })

  it('takes a token as a string, { accessToken } or { token }, asking without a forced refresh and with the call’s signal', async () => {
    for (const value of ['plain', { accessToken: 'plain' }, { token: 'plain' }]) {
      const s = setup(() => ok, { getToken: async () => value as never })
      await s.run()
      expect(s.requests[0]?.headers['authorization']).toBe('Bearer plain')
    }
    const s = setup(() => ok)
    const signal = new AbortController().signal
    await s.run({ signal })
    expect(s.tokens).toEqual([{ forceRefresh: false, signal }])
  })

  it('refuses an empty token, or a token source that fails, as TOKEN without sending', async () => {
    for (const value of ['', { accessToken: '' }, { token: 42 }]) {
      const s = setup(() => ok, { getToken: async () => value as never })
      const error = await failure(s.run())
      expect(error).toMatchObject({ code: 'TOKEN', message: `getToken returned no token for ${ORIGIN}.` })
      expect(s.requests).toHaveLength(0)
    }
    const cause = new Error('AADSTS7000215')
    const s = setup(() => ok, {
      getToken: async () => {
        throw cause
      },
    })
    const error = await failure(s.run())
    expect(error).toMatchObject({
      code: 'TOKEN',
      message: `getToken failed for ${ORIGIN}; see cause.`,
      method: 'GET',
      path: 'accounts',
      cause,
    })
    expect(s.requests).toHaveLength(0)
  })

  it('hands the transport a signal only when the caller gave one, and aborts it with the caller', async () => {
    const controller = new AbortController()
    const s = setup((request) => {
      controller.abort(new Error('user left'))
      expect(request.signal?.aborted).toBe(true)
      return new Error('aborted')
    })
    const error = await failure(s.run({ signal: controller.signal }))
    expect(error).toMatchObject({ code: 'ABORTED', message: 'GET accounts was aborted by the caller.' })
    expect(s.gate.held).toBe(0)
  })

  it('refuses at once when the signal was aborted before sending', async () => {
    const s = setup(() => ok)
    const error = await failure(s.run({ signal: AbortSignal.abort(new Error('early')) }))
    expect(error.code).toBe('ABORTED')
    expect(s.requests).toHaveLength(0)
  })
})

describe('send: links', () => {
  it('follows a same-origin link verbatim, percent-encoding only what a request line cannot carry', async () => {
    const s = setup(() => ok)
    const link = `${ORIGIN}/api/data/v9.2/accounts?$filter=name eq 'Zürich'&$skiptoken=%3Ccookie%20/%3E`
    await s.run({ path: link })
    expect(s.requests[0]?.url).toBe(
      `${ORIGIN}/api/data/v9.2/accounts?$filter=name%20eq%20'Z%C3%BCrich'&$skiptoken=%3Ccookie%20/%3E`,
    )
    expect(s.requests[0]?.path).toBe(
      "/api/data/v9.2/accounts?$filter=name%20eq%20'Z%C3%BCrich'&$skiptoken=%3Ccookie%20/%3E",
    )
  })

  it('names a followed link by its path under the Web API base, or by its whole path outside it', () => {
    const s = setup(() => ok)
    expect(
      resolveUrl(s.config, {
        method: 'GET',
        path: `${ORIGIN}/api/data/v9.2/contacts?$skiptoken=1`,
        idempotent: true,
      }),
    ).toEqual({
      url: `${ORIGIN}/api/data/v9.2/contacts?$skiptoken=1`,
      path: 'contacts',
    })
    expect(resolveUrl(s.config, { method: 'GET', path: `${ORIGIN}/other/x`, idempotent: true }).path).toBe(
      '/other/x',
    )
  })

  it('serialises a link it cannot take verbatim (another spelling of the origin, an unpaired surrogate) through URL', () => {
    const s = setup(() => ok)
    expect(
      resolveUrl(s.config, {
        method: 'GET',
        path: 'HTTPS://ORG.EXAMPLE/api/data/v9.2/a?x=1',
        idempotent: true,
      }).url,
    ).toBe(`${ORIGIN}/api/data/v9.2/a?x=1`)
    expect(
      resolveUrl(s.config, { method: 'GET', path: `${ORIGIN}/api/data/v9.2/a?x=\ud800`, idempotent: true })
        .url,
    ).toBe(`${ORIGIN}/api/data/v9.2/a?x=%EF%BF%BD`)
  })

  it('refuses a link to another origin before asking for a token', async () => {
    const s = setup(() => ok)
    for (const link of [
      'https://evil.example/api/data/v9.2/accounts',
      'http://org.example/api/data/v9.2/accounts',
    ]) {
      const error = await failure(s.run({ path: link }))
      expect(error).toMatchObject({
        code: 'INVALID_RESPONSE',
        message: `Refusing to follow a link to another origin (${new URL(link).origin}).`,
        method: 'GET',
      })
    }
    expect(s.tokens).toHaveLength(0)
    expect(s.requests).toHaveLength(0)
  })
})

describe('send: answers', () => {
  it('returns a success with its status, headers and text, tells the gate the hint and the remaining budget, and logs it', async () => {
    const s = setup(() => ({
      status: 200,
      headers: { 'x-ms-dop-hint': '12', 'x-ms-ratelimit-burst-remaining-xrm-requests': '3999' },
      body: 'text',
    }))
    const result = await s.run()
    expect(result.status).toBe(200)
    expect(result.text).toBe('text')
    expect(result.header('x-ms-dop-hint')).toBe('12')
    expect(s.gate.responses).toEqual([[12, 3999]])
    expect(s.gate.held).toBe(0)
    expect(s.logged).toEqual([
      {
        level: 'debug',
        message: 'dataverse: response',
        fields: { method: 'GET', path: 'accounts', status: 200, attempt: 1 },
      },
    ])
  })

  it('reads a hint or a budget only when the gate will use it', async () => {
    const s = setup(() => ({
      status: 200,
      headers: { 'x-ms-dop-hint': '12', 'x-ms-ratelimit-burst-remaining-xrm-requests': '3999' },
    }))
    const gate = s.config.governor as { wantsDopHint: boolean; wantsRemaining: boolean }
    gate.wantsDopHint = false
    await s.run()
    gate.wantsRemaining = false
    await s.run()
    gate.wantsDopHint = true
    await s.run()
    expect(s.gate.responses).toEqual([
      [undefined, 3999],
      [undefined, undefined],
      [12, undefined],
    ])
  })

  it('passes no hint or budget for headers that are absent, zero, negative or not numbers', async () => {
    const replies: Reply[] = [
      { status: 200 },
      { status: 200, headers: { 'x-ms-dop-hint': '0', 'x-ms-ratelimit-burst-remaining-xrm-requests': '-1' } },
      {
        status: 200,
        headers: { 'x-ms-dop-hint': 'many', 'x-ms-ratelimit-burst-remaining-xrm-requests': 'x' },
      },
      { status: 200, headers: { 'x-ms-ratelimit-burst-remaining-xrm-requests': '0' } },
    ]
    const s = setup((_r, n) => replies[n - 1] as Reply)
    for (let i = 0; i < replies.length; i++) await s.run()
    expect(s.gate.responses).toEqual([
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
      [undefined, 0],
    ])
  })

  it('drops the body of a 204 or 304 unread and answers an empty text', async () => {
    const s = setup((_r, n) => ({ status: n === 1 ? 204 : 304, body: 'ignored' }))
    expect((await s.run()).text).toBe('')
    expect((await s.run()).text).toBe('')
    expect(s.discarded).toEqual([204, 304])
  })

  it('returns an error response the call accepts instead of throwing it', async () => {
    const s = setup(() => ({
      status: 400,
      headers: { 'content-type': 'multipart/mixed; boundary=b' },
      body: '--b--',
    }))
    const result = await s.run({
      method: 'POST',
      path: '$batch',
      idempotent: false,
      acceptError: (status, header) =>
        status === 400 && (header('content-type') ?? '').startsWith('multipart/'),
    })
    expect(result).toMatchObject({ status: 400, text: '--b--' })
    const refused = setup(() => ({ status: 400, body: '{}' }))
    expect((await failure(refused.run({ acceptError: () => false }))).status).toBe(400)
  })
})

describe('send: 401', () => {
  it('refreshes the token once and sends again with the new one', async () => {
    const s = setup((_r, n) => (n === 1 ? { status: 401 } : ok))
    expect((await s.run()).status).toBe(200)
    expect(s.tokens.map((t) => t.forceRefresh)).toEqual([false, true])
    expect(s.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer token-1', 'Bearer token-2'])
    expect(s.logged[0]).toEqual({
      level: 'debug',
      message: 'dataverse: 401, refreshing the token once',
      fields: { method: 'GET', path: 'accounts' },
    })
  })

  it('forces a refresh only for the attempt right after the 401', async () => {
    const s = setup(
      (_r, n) => [{ status: 401 }, { status: 503, headers: { 'Retry-After': '0' } }, ok][n - 1] as Reply,
    )
    await s.run()
    expect(s.tokens.map((t) => t.forceRefresh)).toEqual([false, true, false])
  })

  it('a second 401 is the error, after two attempts', async () => {
    const s = setup(() => ({ status: 401 }))
    const error = await failure(s.run())
    expect(error).toMatchObject({ status: 401, attempts: 2 })
    expect(s.tokens.map((t) => t.forceRefresh)).toEqual([false, true])
    expect(s.gate.held).toBe(0)
  })
})

describe('send: 429', () => {
  it('pauses the gate for Retry-After (seconds), halving it unless the request-count limit was hit, then retries first in line', async () => {
    for (const [code, concurrency] of [
      ['0x80072326', true],
      ['0x80072321', true],
      ['0x80072322', false],
    ] as const) {
      const s = setup((_r, n) => (n === 1 ? throttled(code, '3') : ok))
      expect((await s.run()).status).toBe(200)
      expect(s.gate.throttles).toEqual([[3000, concurrency]])
      expect(s.gate.acquired).toEqual([false, true])
      expect(s.gate.held).toBe(0)
      expect(s.slept).toEqual([]) // the gate does the waiting
    }
  })

  it('without Retry-After waits a backoff plus a second', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const s = setup((_r, n) => (n === 1 ? throttled('0x80072322') : ok))
    await s.run()
    expect(s.gate.throttles).toEqual([[1050, false]]) // 0.5 × min(1,000, 100 × 2⁰) + 1,000
  })

  it('warns once per throttle, with the wait and the request id', async () => {
    const s = setup((_r, n) =>
      n === 1
        ? {
            ...throttled('0x80072322', '2'),
            headers: { 'Retry-After': '2', 'x-ms-service-request-id': 'req-9' },
          }
        : ok,
    )
    await s.run()
    expect(s.logged.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: 'dataverse: throttled, pausing the client for this org',
        fields: { method: 'GET', path: 'accounts', attempt: 1, retryAfterMs: 2000, requestId: 'req-9' },
      },
    ])
  })

  it('retries even a create (a throttled request did not run)', async () => {
    const s = setup((_r, n) => (n === 1 ? throttled('0x80072322', '1') : { status: 204 }))
    expect((await s.run({ method: 'POST', idempotent: false })).status).toBe(204)
  })

  it('gives up as THROTTLED with the wait when Retry-After passes the budget, after the attempts, or when told not to retry', async () => {
    const beyond = setup(() => throttled('0x80072322', '61'))
    expect(await failure(beyond.run())).toMatchObject({
      code: 'THROTTLED',
      retryAfterMs: 61_000,
      attempts: 1,
    })
    const always = setup(() => throttled('0x80072322', '1'))
    expect(await failure(always.run())).toMatchObject({ code: 'THROTTLED', attempts: 4 })
    expect(always.requests).toHaveLength(4)
    expect(always.gate.held).toBe(0)
    const once = setup(() => throttled('0x80072322', '1'))
    expect(await failure(once.run({ retry: false }))).toMatchObject({ attempts: 1 })
    const off = setup(() => throttled('0x80072322', '1'), {
      retry: {
        enabled: false,
        maxAttempts: 4,
        budgetMs: 60_000,
        baseDelayMs: 100,
        maxDelayMs: 1_000,
        retryCreates: false,
      },
    })
    expect(await failure(off.run())).toMatchObject({ attempts: 1 })
  })
})

describe('send: 5xx', () => {
  it('retries 502, 503 and 504 of a safe request after Retry-After on the client clock, and logs the wait', async () => {
    for (const status of [502, 503, 504]) {
      const s = setup((_r, n) => (n === 1 ? { status, headers: { 'Retry-After': '2' } } : ok))
      expect((await s.run()).status).toBe(200)
      expect(s.slept).toEqual([2000])
      expect(s.gate.acquired).toEqual([false, true])
      expect(s.logged.find((l) => l.level === 'warn')).toEqual({
        level: 'warn',
        message: 'dataverse: retrying after a server error',
        fields: { method: 'GET', path: 'accounts', status, attempt: 1, delayMs: 2000 },
      })
    }
  })

  it('without Retry-After waits a full-jitter backoff that doubles per attempt, capped', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const s = setup((_r, n) => (n < 4 ? { status: 503 } : ok))
    await s.run()
    expect(s.slept).toEqual([99, 199, 399]) // floor(0.999 × min(1,000, 100 × 2^step))
    const capped = setup((_r, n) => (n < 4 ? { status: 503 } : ok), {
      retry: {
        enabled: true,
        maxAttempts: 4,
        budgetMs: 60_000,
        baseDelayMs: 100,
        maxDelayMs: 150,
        retryCreates: false,
      },
    })
    await capped.run()
    expect(capped.slept).toEqual([99, 149, 149])
  })

  it('never retries a 500, a 5xx of an unsafe request, or past the attempts or the budget', async () => {
    const internal = setup(() => ({ status: 500 }))
    expect(await failure(internal.run())).toMatchObject({ status: 500, attempts: 1 })
    const unsafe = setup(() => ({ status: 503 }))
    expect(await failure(unsafe.run({ method: 'POST', idempotent: false }))).toMatchObject({
      status: 503,
      attempts: 1,
    })
    const always = setup(() => ({ status: 503, headers: { 'Retry-After': '1' } }))
    expect(await failure(always.run())).toMatchObject({ status: 503, attempts: 4 })
    expect(always.slept).toEqual([1000, 1000, 1000])
    const long = setup(() => ({ status: 503, headers: { 'Retry-After': '60' } }))
    expect(await failure(long.run())).toMatchObject({ status: 503, attempts: 1 })
    expect(long.slept).toEqual([])
  })

  it('a caller’s abort during the wait ends it as ABORTED', async () => {
    const controller = new AbortController()
    const s = setup(() => ({ status: 503, headers: { 'Retry-After': '5' } }), {
      clock: {
        now: () => 0,
        sleep: async () => {
          controller.abort(new Error('stop'))
          throw new Error('stop')
        },
      },
    })
    expect((await failure(s.run({ signal: controller.signal }))).code).toBe('ABORTED')
  })
})

describe('send: transport failures', () => {
  it('retries a network failure of a safe request after a backoff, and says so', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const s = setup((_r, n) => (n === 1 ? new TypeError('fetch failed') : ok))
    expect((await s.run()).status).toBe(200)
    expect(s.slept).toEqual([50])
    expect(s.gate.held).toBe(0)
    expect(s.logged.find((l) => l.level === 'warn')).toEqual({
      level: 'warn',
      message: 'dataverse: retrying after a transport failure',
      fields: { method: 'GET', path: 'accounts', attempt: 1, delayMs: 50, reason: 'NETWORK' },
    })
  })

  it('reports a network failure of an unsafe request at once as NETWORK', async () => {
    const cause = new TypeError('socket hang up')
    const s = setup(() => cause)
    const error = await failure(s.run({ method: 'POST', idempotent: false }))
    expect(error).toMatchObject({
      code: 'NETWORK',
      message: 'POST accounts failed: the connection failed or was dropped.',
      attempts: 1,
      cause,
    })
    expect(s.gate.held).toBe(0)
  })

  it('never retries what the HTTP client refused to send (an invalid request path): INVALID_ARGUMENT', async () => {
    for (const cause of [
      Object.assign(new TypeError('invalid request path'), { code: 'UND_ERR_INVALID_ARG' }),
      new DataverseError('INVALID_ARGUMENT', 'invalid request path'),
    ]) {
      const s = setup(() => cause)
      const error = await failure(s.run())
      expect(error).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'GET accounts was not sent: the HTTP client refused the request (invalid request path).',
        attempts: 1,
        cause,
      })
      expect(s.requests).toHaveLength(1)
    }
    const other = setup((_r, n) => (n === 1 ? new DataverseError('NETWORK', 'reset') : ok))
    expect((await other.run()).status).toBe(200)
  })

  it('ends an attempt that outlasts the timeout as TIMEOUT, retrying a safe request', async () => {
    vi.useFakeTimers()
    const never = () => new Promise<Reply>(() => undefined)
    const unsafe = setup(never, { timeoutMs: 500 })
    const pending = failure(unsafe.run({ method: 'POST', idempotent: false }))
    await vi.advanceTimersByTimeAsync(499)
    expect(unsafe.requests).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await pending).toMatchObject({
      code: 'TIMEOUT',
      message: 'POST accounts timed out after 500 ms.',
      attempts: 1,
    })
    const safe = setup((_r, n) => (n === 1 ? never() : ok), { timeoutMs: 500 })
    const answered = safe.run({ timeoutMs: 200 })
    await vi.advanceTimersByTimeAsync(200)
    expect((await answered).status).toBe(200)
    expect(safe.logged.find((l) => l.level === 'warn')?.fields['reason']).toBe('TIMEOUT')
  })
})

describe('send: telemetry', () => {
  /** Telemetry that records what the pipeline reports: retries by reason, waits, and each attempt's end. */
  function recording() {
    const retries: string[] = []
    const waits: number[] = []
    const attempts: { kind: 'response' | 'failure'; attributes: Record<string, unknown> }[] = []
    const telemetry: Telemetry = {
      tracer: undefined,
      duration: {
        record: (_value, attributes) => attempts.push({ kind: 'response', attributes: { ...attributes } }),
      },
      throttled: undefined,
      retries: { add: (_n, attributes) => retries.push(String(attributes?.['dataverse.retry.reason'])) },
      wait: { record: (seconds) => waits.push(seconds) },
      server: { 'server.address': 'org.example', 'server.port': 443 },
    }
    return { telemetry, retries, waits, attempts }
  }

  it('counts each retry by its reason: throttled, unauthorized, server_error, network, timeout', async () => {
    vi.useFakeTimers()
    const r = recording()
    const replies: (Reply | Error | 'hang')[] = [
      throttled('0x80072322', '0'),
      { status: 401 },
      { status: 503, headers: { 'Retry-After': '0' } },
      new TypeError('fetch failed'),
      'hang',
      ok,
    ]
    const s = setup(
      (_r, n) => {
        const reply = replies[n - 1]
        return reply === 'hang' ? new Promise<Reply>(() => undefined) : (reply as Reply | Error)
      },
      {
        telemetry: r.telemetry,
        timeoutMs: 100,
        retry: FAST_RETRY,
      },
    )
    const done = s.run()
    await vi.advanceTimersByTimeAsync(1_000)
    expect((await done).status).toBe(200)
    expect(r.retries).toEqual(['throttled', 'unauthorized', 'server_error', 'network', 'timeout'])
    expect(
      r.attempts.map((a) => a.attributes['error.type'] ?? a.attributes['http.response.status_code']),
    ).toEqual(['429', '401', '503', 'network', 'timeout', 200])
  })

  it('records a wait only when the gate held the request, and an aborted attempt as aborted', async () => {
    const r = recording()
    let release: () => void = () => undefined
    const s = setup(() => ok, {
      telemetry: r.telemetry,
      governor: {
        limit: 1,
        wantsDopHint: true,
        wantsRemaining: true,
        acquire: () =>
          new Promise<void>((resolve) => {
            release = resolve
          }),
        release: () => undefined,
        onResponse: () => undefined,
        onThrottle: () => undefined,
      },
    })
    const done = s.run()
    await settleLong()
    release()
    await done
    expect(r.waits).toHaveLength(1)
    expect(r.waits[0]).toBeGreaterThanOrEqual(0)
    const direct = setup(() => ok, { telemetry: r.telemetry })
    await direct.run()
    expect(r.waits).toHaveLength(1)

    const controller = new AbortController()
    const aborted = setup(
      () => {
        controller.abort(new Error('stop'))
        return new Error('aborted')
      },
      { telemetry: r.telemetry },
    )
    await failure(aborted.run({ signal: controller.signal }))
    expect(r.attempts.at(-1)?.attributes['error.type']).toBe('aborted')
  })

  it('a request the gate never admits ends as ABORTED when the caller gives up', async () => {
    const controller = new AbortController()
    const s = setup(() => ok, {
      governor: {
        limit: 1,
        wantsDopHint: true,
        wantsRemaining: true,
        acquire: (signal) =>
          new Promise<void>((_resolve, reject) => {
            if (signal?.aborted) reject(signal.reason)
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
          }),
        release: () => undefined,
        onResponse: () => undefined,
        onThrottle: () => undefined,
      },
    })
    const done = failure(s.run({ signal: controller.signal }))
    controller.abort(new Error('user left'))
    expect(await done).toMatchObject({ code: 'ABORTED', message: 'GET accounts was aborted by the caller.' })
    expect(s.requests).toHaveLength(0)
  })
})

const settleLong = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('send: more rules', () => {
  it('realSleep waits, refuses an aborted signal, stops on abort, and leaves no listener behind', async () => {
    const { getEventListeners } = await import('node:events')
    const started = Date.now()
    const sleep = (ms: number, signal?: AbortSignal) =>
      within(realSleep(ms, signal), `realSleep(${ms})`, 5_000)
    await sleep(20)
    expect(Date.now() - started).toBeGreaterThanOrEqual(15)
    const reason = new Error('early')
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason)
    const controller = new AbortController()
    const sleeping = sleep(60_000, controller.signal)
    controller.abort(new Error('now'))
    await expect(sleeping).rejects.toThrow('now')
    const kept = new AbortController()
    await sleep(1, kept.signal)
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0)
  })

  it('an empty token names the request; a transport that rejects with nothing is a network failure', async () => {
    const s = setup(() => ok, { getToken: async () => '' })
    expect(await failure(s.run())).toMatchObject({ method: 'GET', path: 'accounts' })
    const n = setup(() => Promise.reject(null))
    expect(await failure(n.run({ method: 'POST', idempotent: false }))).toMatchObject({ code: 'NETWORK' })
  })

  it('reads a relative path that holds a URL in its query as relative', async () => {
    const s = setup(() => ok)
    await s.run({ path: "accounts?$filter=websiteurl eq 'https://x'" })
    expect(s.requests[0]?.url).toBe(`${BASE}accounts?$filter=websiteurl eq 'https://x'`)
    // A table whose name starts with h (as http does) is relative too, with or without a URL in its query.
    await s.run({ path: 'hr_employees' })
    await s.run({ path: "Hr_employees?$filter=cr_site eq 'http://x'" })
    expect(s.requests.slice(1).map((r) => r.url)).toEqual([
      `${BASE}hr_employees`,
      `${BASE}Hr_employees?$filter=cr_site eq 'http://x'`,
    ])
  })

  it('counts the retry budget from the first attempt, not from each retry', async () => {
    const s = setup(() => ({ status: 503, headers: { 'Retry-After': '1' } }), {
      retry: {
        enabled: true,
        maxAttempts: 10,
        budgetMs: 2_500,
        baseDelayMs: 100,
        maxDelayMs: 1_000,
        retryCreates: false,
      },
    })
    expect(await failure(s.run())).toMatchObject({ attempts: 3 })
  })

  it('a caller’s abort during a create’s exchange is ABORTED, not a network failure', async () => {
    const controller = new AbortController()
    const s = setup(() => {
      controller.abort(new Error('user left'))
      return new TypeError('terminated')
    })
    expect(
      (await failure(s.run({ method: 'POST', idempotent: false, signal: controller.signal }))).code,
    ).toBe('ABORTED')
  })

  it('doubles the backoff of each retry, after network failures and 429s without Retry-After alike', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const n = setup((_r, i) => (i < 3 ? new TypeError('fetch failed') : ok))
    await n.run()
    expect(n.slept).toEqual([50, 100])
    const t = setup((_r, i) => (i < 3 ? throttled('0x80072322') : ok))
    await t.run()
    expect(t.gate.throttles).toEqual([
      [1050, false],
      [1100, false],
    ])
  })

  it('stops retrying network failures at the attempts, or when the next wait would reach the budget', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const always = setup(() => new TypeError('fetch failed'))
    expect(await failure(always.run())).toMatchObject({ code: 'NETWORK', attempts: 4 })
    const tight = setup(() => new TypeError('fetch failed'), {
      retry: {
        enabled: true,
        maxAttempts: 4,
        budgetMs: 50,
        baseDelayMs: 100,
        maxDelayMs: 1_000,
        retryCreates: false,
      },
    })
    expect(await failure(tight.run())).toMatchObject({ attempts: 1 })
    const exact = setup(() => throttled('0x80072322', '60'))
    expect(await failure(exact.run())).toMatchObject({ code: 'THROTTLED', attempts: 1 })
  })

  it('works with a logger that has neither debug nor warn', async () => {
    const s = setup(
      (_r, n) =>
        [
          { status: 401 },
          throttled('0x80072322', '0'),
          { status: 503, headers: { 'Retry-After': '0' } },
          new TypeError('fetch failed'),
          ok,
        ][n - 1] as Reply | Error,
      {
        logger: {},
        retry: FAST_RETRY,
      },
    )
    expect((await s.run()).status).toBe(200)
  })

  it('leaves no listener on the caller’s signal and no timer behind after a call', async () => {
    const { getEventListeners } = await import('node:events')
    const controller = new AbortController()
    const s = setup(() => ok)
    for (let i = 0; i < 3; i++) await s.run({ signal: controller.signal })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    vi.useFakeTimers()
    const f = setup(() => ok)
    await f.run()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a timed-out attempt says so in its cause', async () => {
    vi.useFakeTimers()
    const s = setup(() => new Promise<Reply>(() => undefined), { timeoutMs: 10 })
    const pending = failure(s.run({ method: 'POST', idempotent: false }))
    await vi.advanceTimersByTimeAsync(10)
    expect(((await pending).cause as Error).message).toBe('timeout')
  })
})
