import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ids, startTestApp } from './helpers.ts'

// Generated malformed requests against the multi-tenant API (on the emulator). Every one must get a 4xx in the API's
// error format `{ "error": { "code", "message" } }`, quickly, and the API must still serve a signed-in user
// afterwards. Fixed seed; each property stops at its time budget. No generated value is ever an org URL the server
// would try to reach: onboarding is fuzzed only with bodies it refuses before any network call.
const SEED = 20_261_204
const BUDGET_MS = 1_500
const REPLY_BOUND_MS = 3_000
const options = (numRuns: number) => ({
  seed: SEED,
  numRuns,
  interruptAfterTimeLimit: BUDGET_MS,
  markInterruptAsFailure: false,
})

type T = Awaited<ReturnType<typeof startTestApp>>
let t: T
let alice: string
let fabrikamAdmin: string

beforeAll(async () => {
  t = await startTestApp()
  alice = await t.userToken(ids.users.contosoAlice)
  fabrikamAdmin = await t.userToken(ids.users.fabrikamAdmin)
})
afterAll(async () => {
  await t?.running.stop()
})

async function expectTyped4xx(
  request: () => Response | Promise<Response>,
  what: string,
  statuses?: number[],
) {
  const started = performance.now()
  const res = await request()
  const text = await res.text()
  expect(performance.now() - started, 'answered within the bound').toBeLessThan(REPLY_BOUND_MS)
  expect(res.status, `${what} → ${res.status} ${text.slice(0, 160)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, what).toBeLessThan(500)
  if (statuses) expect(statuses, `${what} → ${res.status} ${text.slice(0, 160)}`).toContain(res.status)
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
  expect(typeof body.error?.code, what).toBe('string')
  expect(String(body.error?.message ?? '').length, what).toBeGreaterThan(0)
}

async function stillServing() {
  const res = await t.running.app.request('/api/me', { headers: { authorization: `Bearer ${alice}` } })
  expect(res.status).toBe(200)
}

const call = (path: string, init: RequestInit = {}) => t.running.app.request(path, init)
const visible = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
})

describe('the multi-tenant API under generated malformed requests', () => {
  it('tokens that are not valid for this API → 401 or 403', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const token = fc.oneof(
      visible,
      fc.tuple(fc.jsonValue(), fc.jsonValue(), visible).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s}`),
      fc
        .nat({ max: alice.length - 1 })
        .map((at) => `${alice.slice(0, at)}${alice[at] === 'A' ? 'B' : 'A'}${alice.slice(at + 1)}`),
    )
    await fc.assert(
      fc.asyncProperty(
        token,
        fc.constantFrom('/api/me', '/api/tables/accounts', '/api/onboarding/tenant'),
        async (tk, path) => {
          // A changed spare bit of a segment's last character decodes to the same bytes: still Alice's token.
          const bytes = (t: string) =>
            t
              .split('.')
              .map((seg) => Buffer.from(seg, 'base64url').toString('hex'))
              .join('.')
          fc.pre(tk !== alice && bytes(tk) !== bytes(alice))
          await expectTyped4xx(
            () => call(path, { headers: { authorization: `Bearer ${tk}` } }),
            `${path} ${tk.slice(0, 60)}`,
            [401, 403],
          )
        },
      ),
      options(120),
    )
    await stillServing()
  })

  it('data requests of a signed-in user with bad tables, ids, bodies or etags → 4xx', async () => {
    const auth = () => ({ authorization: `Bearer ${alice}` })
    const attempt = fc.oneof(
      visible.map((v) => ({ method: 'GET', path: `/api/tables/zz${encodeURIComponent(v)}` })),
      visible.map((v) => ({ method: 'GET', path: `/api/tables/accounts/${encodeURIComponent(v)}x` })),
      fc
        .oneof(
          fc.array(fc.jsonValue(), { maxLength: 3 }).map((v) => JSON.stringify(v)),
          visible.map((v) => `{${v}`),
          fc.constant(''),
        )
        .map((body) => ({ method: 'POST', path: '/api/tables/accounts', body, type: 'application/json' })),
      fc
        .oneof(
          fc.constant(undefined),
          visible.filter((v) => !/^W\/"[^"]{1,100}"$/.test(v)),
        )
        .map((etag) => ({
          method: 'PATCH',
          path: `/api/tables/accounts/${ids.contosoOrgId}`,
          body: '{"name":"x"}',
          type: 'application/json',
          ...(etag === undefined ? {} : { etag }),
        })),
      visible.map((v) => ({ method: 'DELETE', path: `/api/tables/contacts/${encodeURIComponent(v)}x` })),
      visible.map((v) => ({ method: 'GET', path: `/api/zz${encodeURIComponent(v)}` })),
    )
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        const init = a as { method: string; path: string; body?: string; type?: string; etag?: string }
        const headers: Record<string, string> = auth()
        if (init.type) headers['content-type'] = init.type
        if (init.etag !== undefined) headers['if-match'] = init.etag
        await expectTyped4xx(
          () =>
            call(init.path, {
              method: init.method,
              headers,
              ...(init.body === undefined ? {} : { body: init.body }),
            }),
          JSON.stringify(a).slice(0, 200),
        )
      }),
      options(150),
    )
    await stillServing()
  })

  it('onboarding starts the server refuses before any call out, and oversized bodies → 4xx', async () => {
    const attempt = fc.oneof(
      visible.map((body) => ({ type: 'text/plain', body })),
      fc
        .oneof(
          fc.jsonValue().filter((v) => typeof (v as { orgUrl?: unknown } | null)?.orgUrl !== 'string'),
          visible.map((v) => ({ orgUrl: `${'x'.repeat(301)}${v}` })),
          fc.constant({ orgUrl: '   ' }),
        )
        .map((v) => ({ type: 'application/json', body: JSON.stringify(v) })),
      fc
        .integer({ min: 1024 * 1024 + 1, max: 2 ** 40 })
        .map((n) => ({ type: 'application/json', body: '{}', length: String(n) })),
    )
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        // A signed-in admin of a tenant not connected yet: only the body can be wrong.
        const headers: Record<string, string> = {
          'content-type': a.type,
          authorization: `Bearer ${fabrikamAdmin}`,
        }
        if ('length' in a) headers['content-length'] = a.length
        const request = new Request('http://localhost/api/onboarding/start', {
          method: 'POST',
          headers,
          body: a.body,
        })
        const statuses = 'length' in a ? [413] : [400, 415]
        await expectTyped4xx(() => t.running.app.fetch(request), JSON.stringify(a).slice(0, 200), statuses)
      }),
      options(150),
    )
    await stillServing()
  })
})

describe('request-size limit of the API', () => {
  it('refuses a declared 512 MB body at once and a streamed one past 1 MiB, reading no more (413)', async () => {
    let pulled = 0
    const endless = () =>
      new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (pulled++ > 10_000) return controller.close()
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x20))
          },
        },
        { highWaterMark: 0 },
      )
    const post = (headers: Record<string, string>) =>
      t.running.app.fetch(
        new Request('http://localhost/api/tables/accounts', {
          method: 'POST',
          headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', ...headers },
          body: endless(),
          duplex: 'half',
        } as RequestInit),
      )
    const declared = await post({ 'content-length': String(512 * 1024 * 1024) })
    expect(declared.status).toBe(413)
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('payload_too_large')
    expect(pulled).toBe(0)
    const streamed = await post({})
    expect(streamed.status).toBe(413)
    expect(pulled).toBeLessThanOrEqual(1024 / 64 + 2)
    await stillServing()
  })
})
