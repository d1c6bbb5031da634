import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type Harness, signInOverHttp, startHarness } from './support.ts'

// Generated malformed requests against the app (as `pnpm start` builds it, on the emulator). Every one must get a
// 4xx in the app's error format (an HTML problem page, or plain text for refused form posts), quickly, and the app
// must still serve a signed-in user afterwards. Fixed seed; each property stops at its time budget.
const SEED = 20_261_204
const BUDGET_MS = 1_500
const REPLY_BOUND_MS = 3_000
const base = 'http://localhost:3001'
const options = (numRuns: number) => ({
  seed: SEED,
  numRuns,
  interruptAfterTimeLimit: BUDGET_MS,
  markInterruptAsFailure: false,
})

let h: Harness
let app: ReturnType<typeof buildApp>
let cookie: string
let csrf: string

beforeAll(async () => {
  h = await startHarness(base)
  app = buildApp(h)
  const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
  cookie = cookies.cookie()
  csrf = /name="_csrf" value="([^"]+)"/.exec(
    await (await app.request(`${base}/`, { headers: { cookie } })).text(),
  )![1]!
}, 120_000)
afterAll(() => h?.handle.stop())

async function expectTyped4xx(
  request: () => Response | Promise<Response>,
  what: string,
  statuses?: number[],
) {
  const started = performance.now()
  const res = await request()
  const body = await res.text()
  expect(performance.now() - started, 'answered within the bound').toBeLessThan(REPLY_BOUND_MS)
  expect(res.status, `${what} → ${res.status} ${body.slice(0, 120)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, what).toBeLessThan(500)
  if (statuses) expect(statuses, what).toContain(res.status)
  const type = res.headers.get('content-type') ?? ''
  expect(type, what).toMatch(/^text\/(html|plain)/)
  if (type.startsWith('text/html')) expect(body, what).toMatch(/<h2>[^<]+<\/h2>/)
  else expect(body.length, what).toBeGreaterThan(20)
  expect(body, what).not.toMatch(/at .+\.(ts|js):\d+/)
}

/** A signed-in user still gets the dashboard, and the session's form still works. */
async function stillServing() {
  const page = await app.request(`${base}/`, { headers: { cookie } })
  expect(page.status).toBe(200)
  expect(await page.text()).toContain('Alice Anderson')
}

const visible = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
})
const forms = ['/environment', '/impersonation', '/auth/signout']

describe('the single-tenant app under generated malformed requests', () => {
  it('form posts without a session, from another origin, or with a wrong token → 403', async () => {
    const attempt = fc.record({
      path: fc.constantFrom(...forms),
      session: fc.constantFrom('none', 'garbage', 'valid'),
      origin: fc.oneof(
        fc.constant(undefined),
        fc.constant('https://evil.example'),
        visible.map((v) => `http://${v}`),
      ),
      token: fc.oneof(fc.constant(undefined), visible),
      body: visible,
    })
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        // Only requests that cannot pass: no valid session, a foreign origin, or a token that is not the session's.
        fc.pre(a.session !== 'valid' || a.origin !== undefined || a.token !== csrf)
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
        if (a.session === 'valid') headers['cookie'] = cookie
        if (a.session === 'garbage') headers['cookie'] = `session=${encodeURIComponent(a.body)}`
        if (a.origin !== undefined) headers['origin'] = a.origin
        const body = new URLSearchParams({ ...(a.token === undefined ? {} : { _csrf: a.token }), x: a.body })
        await expectTyped4xx(
          () => app.request(`${base}${a.path}`, { method: 'POST', headers, body }),
          JSON.stringify(a),
          [403],
        )
      }),
      options(150),
    )
    await stillServing()
  })

  it('unreadable or oversized bodies of a signed-in user → 400 or 413', async () => {
    const attempt = fc.oneof(
      fc.record({
        type: fc.constantFrom(
          'multipart/form-data',
          'multipart/form-data; boundary=',
          'multipart/form-data; x=1',
        ),
        body: visible,
        length: fc.constant(undefined),
      }),
      fc.record({
        type: fc.constant('multipart/form-data; boundary=zz'),
        body: visible.map((v) => `--zz\r\n${v}`),
        length: fc.constant(undefined),
      }),
      fc.record({
        type: fc.constant('application/x-www-form-urlencoded'),
        body: fc.constant('_csrf=x'),
        length: fc.integer({ min: 16 * 1024 + 1, max: 2 ** 40 }).map(String),
      }),
    )
    await fc.assert(
      // The forms that read their body (sign-out needs none, and would end the session the next checks use).
      fc.asyncProperty(attempt, fc.constantFrom('/environment', '/impersonation'), async (a, path) => {
        const headers: Record<string, string> = { cookie, origin: base, 'content-type': a.type }
        if (a.length) headers['content-length'] = a.length
        else headers['x-csrf-token'] = csrf
        const request = new Request(`${base}${path}`, { method: 'POST', headers, body: a.body })
        await expectTyped4xx(() => app.fetch(request), JSON.stringify({ ...a, path }), [400, 413])
      }),
      options(100),
    )
    await stillServing()
  })

  it('sign-in callbacks with forged parameters or flow cookies → 400', async () => {
    const attempt = fc.record({
      params: fc.array(
        fc.tuple(fc.constantFrom('code', 'state', 'error', 'error_description', 'session_state'), visible),
        {
          maxLength: 5,
        },
      ),
      flow: fc.oneof(
        fc.constant(undefined),
        visible,
        visible.map((v) => `1893456000.${Buffer.from(v).toString('base64url')}`),
      ),
    })
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        const query = new URLSearchParams(a.params)
        const headers: Record<string, string> =
          a.flow === undefined ? {} : { cookie: `signin=${encodeURIComponent(a.flow)}` }
        await expectTyped4xx(
          () => app.request(`${base}/auth/callback?${query}`, { headers }),
          JSON.stringify(a),
          [400],
        )
      }),
      options(150),
    )
    await stillServing()
  })

  it('forged session cookies and unknown paths → 401 or 404', async () => {
    const b64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const value = cookie.slice('session='.length)
    const attempt = fc.oneof(
      visible.map((v) => ({ path: '/', cookie: `session=${encodeURIComponent(v) || 'x'}` })),
      // The real cookie with one character of its signature, id or expiry changed.
      fc.tuple(fc.nat({ max: value.length - 1 }), fc.constantFrom(...b64url)).map(([at, ch]) => ({
        path: '/',
        cookie: `session=${value.slice(0, at)}${ch}${value.slice(at + 1)}`,
      })),
      visible.map((v) => ({ path: `/zz${encodeURIComponent(v)}`, cookie: '' })),
    )
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        fc.pre(a.cookie !== cookie)
        await expectTyped4xx(
          () => app.request(`${base}${a.path}`, { headers: a.cookie ? { cookie: a.cookie } : {} }),
          JSON.stringify(a),
          [401, 404],
        )
      }),
      options(150),
    )
    await stillServing()
  })
})
