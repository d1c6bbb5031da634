import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/server/app.ts'
import { consentCallback, ids, onboard, request, startOnboarding, startTestApp } from './helpers.ts'

/**
 * A second, independent attack run (beside attacks.test.ts): what an outside attacker with curl, a browser and
 * tokens from the emulator tries that the table there does not, over a real socket where the HTTP layer matters
 * (raw paths, methods, headers) and through `app.request` otherwise.
 */

type T = Awaited<ReturnType<typeof startTestApp>>
let t: T
let port: number
const dir = mkdtempSync(join(tmpdir(), 'mt-red-team-'))
const spa = join(dir, 'dist')
const SECRET = 'OUTSIDE-THE-SPA-9f2c'
const DOTFILE = 'DOTFILE-IN-THE-SPA-4b1e'
const p = { carol: '', nestor: '', alice: '', fabrikamOrgUrl: '', contosoOrgUrl: '' }

/** Sends `text` as it is over a socket (no URL normalisation by a client) and returns the whole answer. */
function rawHttp(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let out = ''
    socket.on('data', (d) => {
      out += d.toString('latin1')
    })
    socket.on('close', () => resolve(out))
    socket.on('error', () => resolve(out))
  })
}
const rawGet = (target: string, headers = '') =>
  rawHttp(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`)
const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
const raw = (path: string, init: RequestInit = {}) => Promise.resolve(t.running.app.request(path, init))
const bearer = (token: string, headers: Record<string, string> = {}) => ({
  Authorization: `Bearer ${token}`,
  ...headers,
})
async function json(
  res: Response,
): Promise<{ error?: { code: string; message: string } } & Record<string, unknown>> {
  return (await res.json()) as never
}

/** How many of Fabrikam's accounts have a name starting with `prefix` (read through the API as Carol). */
async function rowNamed(prefix: string): Promise<number> {
  const res = await raw(`/api/tables/accounts?pageSize=50&search=${encodeURIComponent(prefix)}`, {
    headers: bearer(p.carol),
  })
  return ((await json(res))['rows'] as unknown[]).length
}

beforeAll(async () => {
  mkdirSync(join(spa, '.git'), { recursive: true })
  mkdirSync(join(spa, 'assets'), { recursive: true })
  writeFileSync(join(spa, 'index.html'), '<!doctype html><title>spa</title>')
  writeFileSync(join(spa, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(spa, '.env'), `STATE_SECRET=${DOTFILE}`)
  writeFileSync(join(spa, '.git', 'config'), `[remote] ${DOTFILE}`)
  writeFileSync(join(dir, 'secret.txt'), SECRET)
  t = await startTestApp({ listen: true, staticRoot: spa })
  port = t.running.port as number
  await onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin)
  p.carol = await t.userToken(ids.users.fabrikamCarol)
  p.nestor = await t.userToken(ids.users.fabrikamAdmin)
  p.alice = await t.userToken(ids.users.contosoAlice)
  p.fabrikamOrgUrl = t.org(ids.fabrikamTenantId).url
  p.contosoOrgUrl = t.org(ids.contosoTenantId).url
}, 180_000)

afterAll(async () => {
  await t?.running.stop()
})

describe('static files over a raw socket', () => {
  it('never serves a file outside the SPA folder, however the path is spelled', async () => {
    const targets = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%5csecret.txt',
      '/%252e%252e/secret.txt',
      '/assets/../../secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/./../secret.txt',
      '/index.html%00/../../secret.txt',
      `/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      `//${dir.slice(1)}/secret.txt`,
    ]
    for (const target of targets) {
      const answer = await rawGet(target)
      expect(answer, target).not.toContain(SECRET)
      expect([200, 400, 404], target).toContain(statusOf(answer))
    }
  })

  it('never serves a dotfile or a dot folder that sits in the SPA folder (.env, .git)', async () => {
    for (const target of [
      '/.env',
      '/%2eenv',
      '/%252eenv',
      '/.git/config',
      '/%2egit/config',
      '/assets/../.env',
    ]) {
      const answer = await rawGet(target)
      expect(answer, target).not.toContain(DOTFILE)
    }

    // The SPA's own files are still served.
    expect(await rawGet('/assets/app.js')).toContain('console.log(1)')
  })
})

describe('HTTP methods and the HTTP layer', () => {
  it('TRACE, PROPFIND and CONNECT never echo the request (its token or cookie), and the server keeps serving', async () => {
    const secretHeaders = `Authorization: Bearer ${p.carol}\r\nCookie: __Host-dvs2s-session=${'c'.repeat(43)}\r\n`
    for (const [method, target] of [
      ['TRACE', '/api/me'],
      ['TRACE', '/'],
      ['TRACE', '/api/config'],
      ['PROPFIND', '/api/tables/accounts'],
      ['CONNECT', 'localhost:443'],
    ] as const) {
      const answer = await rawHttp(
        `${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${secretHeaders}Connection: close\r\n\r\n`,
      )
      expect(answer, `${method} ${target}`).not.toContain(p.carol.slice(-40))
      expect(answer, `${method} ${target}`).not.toContain('c'.repeat(43))
      expect(answer, `${method} ${target}`).not.toMatch(/^HTTP\/1\.1 2\d\d/)
    }
    expect(statusOf(await rawGet('/api/config'))).toBe(200)
  })

  it('a 64 KB header is refused by the server (431) and the server keeps serving', async () => {
    const answer = await rawGet('/api/config', `X-Big: ${'a'.repeat(64 * 1024)}\r\n`)
    expect(statusOf(answer)).toBe(431)
    expect(statusOf(await rawGet('/api/config'))).toBe(200)
  })

  it('HEAD on a data route needs a token like GET, and with one it sends no body', async () => {
    const anonymous = await raw('/api/tables/accounts', { method: 'HEAD' })
    expect(anonymous.status).toBe(401)
    const head = await raw('/api/tables/accounts', { method: 'HEAD', headers: bearer(p.carol) })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect(head.headers.get('cache-control')).toBe('no-store')
  })

  it('OPTIONS and PUT on API routes are 401/404 in the API format, with no CORS grant', async () => {
    for (const [method, path] of [
      ['OPTIONS', '/api/me'],
      ['PUT', '/api/tables/accounts/11111111-2222-4333-8444-555555555555'],
      ['OPTIONS', '/api/onboarding/complete'],
    ] as const) {
      const res = await raw(path, {
        method,
        headers: bearer(p.carol, { Origin: 'https://evil.example', 'Content-Type': 'application/json' }),
        ...(method === 'PUT' ? { body: '{"name":"x"}' } : {}),
      })
      expect([401, 404], `${method} ${path}`).toContain(res.status)
      expect(res.headers.get('access-control-allow-origin'), `${method} ${path}`).toBeNull()
      expect((await json(res)).error?.code, `${method} ${path}`).toMatch(/^(not_found|missing_token)$/)
    }
  })
})

describe('genuine tokens of the wrong kind', () => {
  const apiAudience = `api://${ids.multiTenantAppId}`
  const mint = (
    userObjectId: string,
    extra: { scp?: string; resource?: string; lifetimeSeconds?: number } = {},
  ) =>
    t.emulator.world.mintUserAccessToken({
      userObjectId,
      appId: ids.multiTenantAppId,
      resource: extra.resource ?? apiAudience,
      ...(extra.scp ? { scp: extra.scp } : {}),
      ...(extra.lifetimeSeconds !== undefined ? { lifetimeSeconds: extra.lifetimeSeconds } : {}),
    })

  it('a scope that only looks like ours (prefix, suffix, case, comma) is refused with 403 insufficient_scope', async () => {
    for (const scp of [
      'access_as_user_admin',
      'xaccess_as_user',
      'Access_As_User',
      'access_as_user,openid',
    ]) {
      const res = await raw('/api/tables/accounts', {
        headers: bearer(await mint(ids.users.fabrikamCarol, { scp })),
      })
      expect(res.status, scp).toBe(403)
      expect((await json(res)).error?.code, scp).toBe('insufficient_scope')
      expect(res.headers.get('www-authenticate'), scp).toBe('Bearer error="insufficient_scope"')
    }
  })

  it('the admin’s own Dataverse token, ID token or an expired API token changes nothing in onboarding', async () => {
    const before = JSON.stringify(await t.running.registry.events(ids.fabrikamTenantId))
    const tokens = {
      'Dataverse token of the admin': await mint(ids.users.fabrikamAdmin, { resource: p.fabrikamOrgUrl }),
      'ID token of the admin': await t.emulator.world.mintIdToken({
        userObjectId: ids.users.fabrikamAdmin,
        appId: ids.multiTenantAppId,
      }),
      'expired API token of the admin': await mint(ids.users.fabrikamAdmin, { lifetimeSeconds: -600 }),
    }
    for (const [what, token] of Object.entries(tokens)) {
      for (const [path, body] of [
        ['/api/onboarding/offboard', { confirm: true }],
        ['/api/onboarding/verify', {}],
        ['/api/onboarding/start', { orgUrl: p.fabrikamOrgUrl, intent: 'change_org', confirm: true }],
      ] as const) {
        const res = await raw(path, {
          method: 'POST',
          headers: bearer(token, { 'Content-Type': 'application/json' }),
          body: JSON.stringify(body),
        })
        expect(res.status, `${what} on ${path}`).toBe(401)
        expect((await json(res)).error?.code, `${what} on ${path}`).toMatch(/^(invalid_token|token_expired)$/)
      }
    }
    expect(JSON.stringify(await t.running.registry.events(ids.fabrikamTenantId))).toBe(before)
  })
})

describe('provisioning with someone else’s Dataverse token', () => {
  it('a Dataverse token for another org or an unsigned one is refused and never echoed or logged', async () => {
    const before = JSON.stringify(await t.running.registry.events(ids.fabrikamTenantId))
    const logged = t.logs.length
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const tokens = {
      'the admin’s token for Contoso’s org': await t.emulator.world.mintUserAccessToken({
        userObjectId: ids.users.fabrikamAdmin,
        appId: ids.multiTenantAppId,
        resource: p.contosoOrgUrl,
      }),
      'an unsigned token': `${b64({ alg: 'none' })}.${b64({ aud: p.fabrikamOrgUrl, oid: ids.users.fabrikamAdmin })}.`,
    }
    for (const [what, dataverseToken] of Object.entries(tokens)) {
      const res = await raw('/api/onboarding/provision', {
        method: 'POST',
        headers: bearer(p.nestor, { 'Content-Type': 'application/json' }),
        body: JSON.stringify({ dataverseToken }),
      })
      const text = await res.text()
      expect(res.status, what).toBe(409)
      expect(JSON.parse(text).error.code, what).toMatch(/^(not_org_admin|not_org_user)$/)
      expect(text, what).not.toContain(dataverseToken.split('.')[1] ?? '')
    }
    const lines = t.logs.slice(logged).join('\n')
    for (const token of Object.values(tokens)) expect(lines).not.toContain(token.split('.')[1] ?? '')
    expect(JSON.stringify(await t.running.registry.events(ids.fabrikamTenantId))).toBe(before)
  })
})

describe('query and path smuggling', () => {
  it('percent-encoded parameter names (%24filter, %73earch twice) are refused like their plain spelling', async () => {
    for (const query of [
      '%24filter=name%20ne%20null',
      'search=a&%73earch=b',
      'pageSize=1&page%53ize=100',
      '%24expand=owninguser',
    ]) {
      const res = await raw(`/api/tables/accounts?${query}`, { headers: bearer(p.carol) })
      expect(res.status, query).toBe(400)
      expect((await json(res)).error?.code, query).toBe('unknown_parameter')
    }
  })

  it('unicode look-alikes and encoded slashes in the table name are unknown tables, never another entity set', async () => {
    for (const table of [
      '%EF%BD%81ccounts',
      'account%C5%BF',
      'accounts%2F..%2Fsystemusers',
      'ACCOUNTS',
      'accounts%00',
      'accounts%20',
    ]) {
      const res = await raw(`/api/tables/${table}`, { headers: bearer(p.carol) })
      expect([400, 404], table).toContain(res.status)
      expect(JSON.stringify(await json(res)), table).not.toContain('systemuserid')
    }
  })

  it('CR/LF in a search, a path or a record id adds no header and keeps each log line one JSON line', async () => {
    const before = t.logs.length
    const crlf = encodeURIComponent('a\r\nSet-Cookie: injected=1\r\n')
    for (const path of [
      `/api/tables/accounts?search=${crlf}`,
      `/api/tables/accounts/${crlf}`,
      `/api/tables/${crlf}`,
      `/nothing${crlf}`,
    ]) {
      const res = await raw(path, { headers: bearer(p.carol) })
      expect(res.headers.get('set-cookie'), path).toBeNull()
      expect(res.status, path).toBeLessThan(500)
    }
    const lines = t.logs.slice(before)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      expect(line).not.toMatch(/[\r\n]/)
      expect(() => JSON.parse(line)).not.toThrow()
    }
  })
})

describe('X-Act-As', () => {
  it('any X-Act-As other than exactly "me" (case, lists, repeats, other words) is refused before Dataverse', async () => {
    const before = t.emulator.admin.counters().totals.dataverseRequests
    for (const value of ['ME', 'me,me', 'me; app', 'true', '1', 'user', 'app', ids.users.fabrikamAdmin]) {
      const res = await raw('/api/tables/accounts', {
        method: 'POST',
        headers: bearer(p.carol, { 'X-Act-As': value, 'Content-Type': 'application/json' }),
        body: JSON.stringify({ name: 'acted' }),
      })
      expect(res.status, value).toBe(400)
      expect((await json(res)).error?.code, value).toBe('invalid_act_as')
    }
    const twice = new Headers(bearer(p.carol))
    twice.append('X-Act-As', 'me')
    twice.append('X-Act-As', 'me')
    const repeated = await raw('/api/me', { headers: twice })
    expect(repeated.status).toBe(400)
    expect(t.emulator.admin.counters().totals.dataverseRequests).toBe(before)
  })
})

describe('log size', () => {
  it('a 12 KB path is logged as at most 200 characters in every line it causes', async () => {
    const before = t.logs.length
    const long = `/api/tables/${'x'.repeat(12_000)}`
    expect((await raw(long)).status).toBe(401)
    expect((await raw(long, { headers: bearer(p.alice) })).status).toBe(404)
    const lines = t.logs.slice(before)
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const line of lines) expect(line.length, line.slice(0, 80)).toBeLessThan(600)
  })
})

describe('paging cursors', () => {
  async function cursorOf(path: string, headers: Record<string, string> = {}) {
    const res = await raw(path, { headers: bearer(p.carol, headers) })
    expect(res.status).toBe(200)
    const next = (await json(res))['next'] as string
    expect(next).toBeTruthy()
    return next
  }
  const refused = async (path: string, headers: Record<string, string> = {}) => {
    const res = await raw(path, { headers: bearer(p.carol, headers) })
    expect(res.status, path).toBe(400)
    expect((await json(res)).error?.code, path).toBe('invalid_cursor')
  }

  it('a cursor is good only for the table, page size and actor kind it was issued for', async () => {
    const accounts = encodeURIComponent(await cursorOf('/api/tables/accounts?pageSize=1'))
    expect(
      (await raw(`/api/tables/accounts?pageSize=1&cursor=${accounts}`, { headers: bearer(p.carol) })).status,
    ).toBe(200)
    await refused(`/api/tables/contacts?pageSize=1&cursor=${accounts}`)
    await refused(`/api/tables/accounts?pageSize=100&cursor=${accounts}`)
    await refused(`/api/tables/accounts?cursor=${accounts}`)
    await refused(`/api/tables/accounts?pageSize=1&cursor=${accounts}`, { 'X-Act-As': 'me' })
  })

  it('a tampered cursor (body swapped, signature altered, extra part) is refused', async () => {
    const a = await cursorOf('/api/tables/accounts?pageSize=1')
    const b = await cursorOf('/api/tables/accounts?pageSize=2')
    const [bodyA, sigA] = a.split('.') as [string, string]
    const [bodyB] = b.split('.') as [string, string]
    const flipped = `${sigA.slice(0, -1)}${sigA.endsWith('A') ? 'B' : 'A'}`
    const forgedLink = Buffer.from(`${p.contosoOrgUrl}/api/data/v9.2/accounts`).toString('base64url')
    for (const cursor of [
      `${bodyB}.${sigA}`,
      `${bodyA}.${flipped}`,
      `${a}.x`,
      `${bodyA}.`,
      `${forgedLink}.${sigA}`,
      `${bodyA}==.${sigA}`,
    ]) {
      await refused(`/api/tables/accounts?pageSize=1&cursor=${encodeURIComponent(cursor)}`)
    }
  })
})

describe('hostile bodies', () => {
  it('deeply nested JSON (100,000 levels) is a 4xx on a create and on onboarding, never a 500', async () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`
    const create = await raw('/api/tables/accounts', {
      method: 'POST',
      headers: bearer(p.carol, { 'Content-Type': 'application/json' }),
      body: deep,
    })
    expect(create.status).toBe(400)
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`
    const start = await raw('/api/onboarding/start', {
      method: 'POST',
      headers: bearer(p.nestor, { 'Content-Type': 'application/json' }),
      body: objects,
    })
    expect(start.status).toBeGreaterThanOrEqual(400)
    expect(start.status).toBeLessThan(500)
  })

  it('__proto__ and constructor keys in onboarding bodies pollute nothing and grant nothing', async () => {
    const body = `{"__proto__":{"isAdmin":true,"confirm":true},"constructor":{"prototype":{"polluted":true}},"orgUrl":"${p.fabrikamOrgUrl}","intent":"change_org"}`
    const res = await raw('/api/onboarding/start', {
      method: 'POST',
      headers: bearer(p.carol, { 'Content-Type': 'application/json' }),
      body,
    })
    expect(res.status).toBe(403)
    expect((await json(res)).error?.code).toBe('not_tenant_admin')
    const asAdmin = await raw('/api/onboarding/offboard', {
      method: 'POST',
      headers: bearer(p.nestor, { 'Content-Type': 'application/json' }),
      body: '{"__proto__":{"confirm":true}}',
    })
    expect(asAdmin.status).toBe(409)
    expect((await json(asAdmin)).error?.code).toBe('confirmation_required')
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined()
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect((await t.running.registry.get(ids.fabrikamTenantId))?.status).toBe('verified')
  })

  it('a search cut at 100 characters inside an emoji is still searched, never a 500', async () => {
    for (const search of [`${'a'.repeat(99)}😀`, `${'😀'.repeat(60)}`, `Adventure${' '.repeat(90)}😀x`]) {
      const res = await raw(`/api/tables/accounts?search=${encodeURIComponent(search)}`, {
        headers: bearer(p.carol),
      })
      expect(res.status, search).toBe(200)
      expect((await json(res))['rows'], search).toBeInstanceOf(Array)
    }
  })

  it('any search text (every Unicode plane, 60 to 150 graphemes) is searched or refused, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 60, maxLength: 150 }), async (search) => {
        const res = await raw(`/api/tables/accounts?search=${encodeURIComponent(search)}`, {
          headers: bearer(p.carol),
        })
        expect(res.status, JSON.stringify(search)).toBeLessThan(500)
      }),
      { seed: 20_261_205, numRuns: 150 },
    )
  })

  it('a lone surrogate in a column (JSON \\ud800) is refused with 400 instead of being stored', async () => {
    for (const body of [
      '{"name":"x\\ud800"}',
      '{"name":"\\udc00y"}',
      '{"name":"ok","telephone1":"\\ud83d"}',
    ]) {
      const res = await raw('/api/tables/accounts', {
        method: 'POST',
        headers: bearer(p.carol, { 'Content-Type': 'application/json' }),
        body,
      })
      expect(res.status, body).toBe(400)
      expect((await json(res)).error?.code, body).toBe('invalid_body')
    }
    const fine = await raw('/api/tables/accounts', {
      method: 'POST',
      headers: bearer(p.carol, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ name: 'Emoji 😀 Ltd' }),
    })
    expect(fine.status).toBe(201)
    expect((await json(fine))['name']).toBe('Emoji 😀 Ltd')
  })

  it('invalid UTF-8 in a JSON body is refused with 400 invalid_body, never stored as U+FFFD', async () => {
    const bad = (json: string) => {
      const [head, tail] = json.split('BAD')
      return Buffer.concat([
        Buffer.from(head ?? ''),
        Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
        Buffer.from(tail ?? ''),
      ])
    }
    const before = await rowNamed('Bad UTF-8')
    for (const [path, type, method] of [
      ['/api/tables/accounts', 'application/json', 'POST'],
      ['/api/tables/accounts', 'text/plain', 'POST'],
      ['/api/tables/accounts/11111111-2222-4333-8444-555555555555', 'application/json', 'PATCH'],
    ] as const) {
      const res = await raw(path, {
        method,
        headers: bearer(p.carol, { 'Content-Type': type, 'If-Match': '*' }),
        body: bad('{"name":"Bad UTF-8 BAD"}'),
      })
      expect(res.status, `${method} ${type}`).toBe(400)
      const error = (await json(res)).error
      expect(error?.code, `${method} ${type}`).toBe('invalid_body')
      expect(error?.message, `${method} ${type}`).toMatch(/not valid UTF-8 JSON/)
    }
    expect(await rowNamed('Bad UTF-8')).toBe(before)
  })

  it('invalid UTF-8 in an onboarding body is refused with 400 invalid_body before anything is read from it', async () => {
    const snapshot = JSON.stringify(await t.running.registry.get(ids.fabrikamTenantId))
    const nestor = await t.userToken(ids.users.fabrikamAdmin)
    for (const [route, body] of [
      ['start', `{"orgUrl":"${p.fabrikamOrgUrl}","intent":"connect","x":"BAD"}`],
      ['complete', '{"ticket":"BAD"}'],
      ['provision', '{"dataverseToken":"BAD"}'],
      ['offboard', '{"confirm":true,"why":"BAD"}'],
    ] as const) {
      const [head, tail] = body.split('BAD')
      const res = await raw(`/api/onboarding/${route}`, {
        method: 'POST',
        headers: bearer(nestor, { 'Content-Type': 'application/json' }),
        body: Buffer.concat([Buffer.from(head ?? ''), Buffer.from([0xc3, 0x28]), Buffer.from(tail ?? '')]),
      })
      expect(res.status, route).toBe(400)
      const error = (await json(res)).error
      expect(error?.code, route).toBe('invalid_body')
      expect(error?.message, route).toMatch(/not valid UTF-8 JSON/)
    }
    expect(JSON.stringify(await t.running.registry.get(ids.fabrikamTenantId))).toBe(snapshot)
  })
})

describe('errors and headers', () => {
  it('a Dataverse failure answers a typed 502 with no stack, token or org internals, and the API headers', async () => {
    const id = t.emulator.admin.injectFault({ scope: 'dataverse', kind: 'status', status: 500, rate: 1 })
    try {
      const res = await raw('/api/tables/accounts', { headers: bearer(p.carol) })
      expect(res.status).toBe(502)
      const text = await res.text()
      const body = JSON.parse(text) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('dataverse_unavailable')
      expect(text).not.toMatch(/eyJ|at .+\.(ts|js):\d+|Bearer|api\/data\/v9/)
      expect(text).not.toContain(p.fabrikamOrgUrl)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    } finally {
      t.emulator.admin.removeFault(id)
    }
  })

  it('every refusal of the API (401, 403, 404, 413, 428) carries no-store and the API’s CSP', async () => {
    const answers = [
      await raw('/api/tables/accounts'),
      await raw('/api/onboarding/verify', { method: 'POST', headers: bearer(p.carol) }),
      await raw('/api/nothing', { headers: bearer(p.carol) }),
      await raw('/api/tables/accounts', {
        method: 'POST',
        headers: bearer(p.carol, {
          'Content-Type': 'application/json',
          'Content-Length': String(2 * 1024 * 1024),
        }),
        body: '{}',
      }),
      await raw('/api/tables/accounts/11111111-2222-4333-8444-555555555555', {
        method: 'PATCH',
        headers: bearer(p.carol, { 'Content-Type': 'application/json' }),
        body: '{"name":"x"}',
      }),
    ]
    expect(answers.map((r) => r.status)).toEqual([401, 403, 404, 413, 428])
    for (const res of answers) {
      expect(res.headers.get('cache-control'), String(res.status)).toBe('no-store')
      expect(res.headers.get('content-security-policy'), String(res.status)).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      )
      expect(res.headers.get('content-type'), String(res.status)).toMatch(/^application\/json/)
    }
  })
})

describe('onboarding: pointing a tenant at another host', () => {
  it('org URLs that smuggle another host (userinfo, fragment, backslash, IP, http) are refused without a connection', async () => {
    let connections = 0
    const trap = createServer((socket) => {
      connections++
      socket.destroy()
    })
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve))
    const trapPort = (trap.address() as { port: number }).port
    const org = new URL(p.fabrikamOrgUrl)
    try {
      for (const orgUrl of [
        `https://${org.host}@127.0.0.1:${trapPort}/`,
        `https://127.0.0.1:${trapPort}/#@${org.host}`,
        `https://127.0.0.1:${trapPort}\\@${org.host}`,
        `https://127.0.0.1:${trapPort}?@${org.host}`,
        `https://127.0.0.1:${org.port}/`,
        `http://${org.host}/`,
        `https://user:pass@${org.host}/`,
        `//127.0.0.1:${trapPort}`,
        `127.0.0.1:${trapPort}`,
      ]) {
        const { res } = await startOnboarding(t, ids.users.fabrikamAdmin, {
          orgUrl,
          intent: 'change_org',
          confirm: true,
        })
        expect(res.status, orgUrl).toBe(400)
        const body = await json(res)
        expect(body.error?.code, orgUrl).toBe('org_not_found')
      }
      expect(connections, 'no connection to the attacker’s host').toBe(0)
      expect((await t.running.registry.get(ids.fabrikamTenantId))?.orgUrl).toBe(p.fabrikamOrgUrl)
    } finally {
      trap.close()
    }
  })

  it('another tenant’s org URL spelled differently (case, path, query) is still the other tenant’s', async () => {
    const contoso = new URL(p.contosoOrgUrl)
    for (const orgUrl of [
      `https://${contoso.host.toUpperCase()}`,
      `${p.contosoOrgUrl}/api/data/v9.2/accounts?$top=1`,
      `${p.contosoOrgUrl}/main.aspx#x`,
    ]) {
      const { res } = await startOnboarding(t, ids.users.fabrikamAdmin, {
        orgUrl,
        intent: 'change_org',
        confirm: true,
      })
      expect(res.status, orgUrl).toBe(403)
      expect((await json(res)).error?.code, orgUrl).toBe('org_in_other_tenant')
    }
  })
})

describe('onboarding: redirects', () => {
  it('the consent callback sends the browser only to the app’s own onboarding page, whatever its parameters say', async () => {
    const evil = encodeURIComponent('https://evil.example/')
    for (const query of [
      `redirect_uri=${evil}&returnTo=${evil}&next=${evil}`,
      `admin_consent=True&tenant=${ids.fabrikamTenantId}&state=x&redirect_uri=${evil}`,
      `error=access_denied&error_description=${encodeURIComponent('<b>call +1 555</b>')}&state=x`,
      'state=%0d%0aLocation:%20https://evil.example/',
    ]) {
      const res = await raw(`/onboarding/callback?${query}`)
      expect(res.status, query).toBe(303)
      const location = res.headers.get('location') ?? ''
      expect(location.startsWith('/#/onboarding?'), location).toBe(true)
      expect(location, query).not.toContain('evil.example')
      expect(new URLSearchParams(location.split('?')[1]).get('ticket'), query).toBeNull()
    }
  })
})

describe('HEAD never changes state', () => {
  it('a HEAD of the consent callback (a link prefetcher) is 405 Allow: GET and leaves the one-time state unused', async () => {
    const started = await startOnboarding(t, ids.users.contosoAdmin, { orgUrl: p.contosoOrgUrl })
    expect(started.res.status).toBe(200)
    const query = `admin_consent=True&tenant=${ids.contosoTenantId}&state=${encodeURIComponent(started.state)}`
    const head = await raw(`/onboarding/callback?${query}`, {
      method: 'HEAD',
      headers: { Cookie: started.cookie },
    })
    expect(head.status).toBe(405)
    expect(head.headers.get('allow')).toBe('GET')
    expect(head.headers.get('location')).toBeNull()
    expect(head.headers.get('cache-control')).toBe('no-store')
    const back = await consentCallback(t, query, started.cookie)
    expect(back.get('error')).toBeNull()
    expect(back.get('ticket')).toBeTruthy()
  })

  it('HEAD on the other routes changes nothing either: no cookie is set and no onboarding starts', async () => {
    for (const path of ['/onboarding/callback', '/api/onboarding/tenant', '/api/config', '/']) {
      const res = await raw(path, { method: 'HEAD', headers: bearer(p.nestor) })
      expect(res.headers.getSetCookie(), path).toEqual([])
      expect(res.status, path).toBeLessThan(500)
    }
  })
})

describe('security headers on every answer', () => {
  const API_CSP = "default-src 'none'; frame-ancestors 'none'"
  const expectSecured = (res: Response, what: string) => {
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff')
    expect(res.headers.get('x-frame-options'), what).toBe('DENY')
    expect(res.headers.get('referrer-policy'), what).toBe('no-referrer')
    expect(res.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'")
  }

  it('without a static root, every answer (404, 405, unknown methods) carries the API headers and no-store', async () => {
    const apiOnly = createApp(t.running.services)
    const answers: Record<string, Response> = {
      'GET /': await apiOnly.request('/'),
      'GET /index.html': await apiOnly.request('/index.html'),
      'GET /onboarding/x': await apiOnly.request('/onboarding/x'),
      'POST /nothing': await apiOnly.request('/nothing', { method: 'POST', body: '{}' }),
      'DELETE /onboarding/callback': await apiOnly.request('/onboarding/callback', { method: 'DELETE' }),
      'HEAD /onboarding/callback': await apiOnly.request('/onboarding/callback', { method: 'HEAD' }),
    }
    for (const [what, res] of Object.entries(answers)) {
      expect([404, 405], what).toContain(res.status)
      expectSecured(res, what)
      expect(res.headers.get('content-security-policy'), what).toBe(API_CSP)
      expect(res.headers.get('cache-control'), what).toBe('no-store')
    }
    const body = await json(answers['GET /']!)
    expect(body.error?.code).toBe('not_found')
  })

  it('pages (the SPA and its fallback under /onboarding/) get the page CSP; the API and the callback get the API CSP', async () => {
    for (const path of ['/', '/onboarding/done', '/onboarding/anything/deeper', '/some/page']) {
      const res = await raw(path)
      expect(res.status, path).toBe(200)
      expect(await res.text(), path).toContain('<title>spa</title>')
      expectSecured(res, path)
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp, path).toContain("script-src 'self'")
      expect(csp, path).not.toContain("default-src 'none'")
    }
    for (const path of ['/api/config', '/api/nothing', '/onboarding/callback?state=x']) {
      const res = await raw(path)
      expectSecured(res, path)
      expect(res.headers.get('content-security-policy'), path).toBe(API_CSP)
      expect(res.headers.get('cache-control'), path).toBe('no-store')
    }
    // Pages are revalidated on every load (a new deploy reaches users at once); Vite's hashed assets are kept for good.
    for (const path of ['/', '/index.html', '/onboarding/done']) {
      expect((await raw(path)).headers.get('cache-control'), path).toBe('no-cache')
    }
    expect((await raw('/assets/app.js')).headers.get('cache-control')).toBe(
      'public, max-age=31536000, immutable',
    )
    const post = await raw('/some/page', { method: 'POST', body: 'x' })
    expect(post.status).toBe(404)
    expectSecured(post, 'POST /some/page')
    expect(post.headers.get('cache-control')).toBe('no-store')
  })
})

describe('cursors across an org change', () => {
  it('a cursor issued before the tenant moved to another org is refused after the move, and new pages come from the new org', async () => {
    const res = await raw('/api/tables/accounts?pageSize=1', { headers: bearer(p.carol) })
    const old = (await json(res))['next'] as string
    const sandbox = await t.emulator.admin.createOrg({
      tenantId: ids.fabrikamTenantId,
      uniqueName: 'fabrikam-red-team',
    })
    await onboard(t, ids.fabrikamTenantId, ids.users.fabrikamAdmin, {
      intent: 'change_org',
      orgUrl: sandbox.url,
    })
    expect((await t.running.registry.get(ids.fabrikamTenantId))?.orgUrl).toBe(sandbox.url)
    const replay = await raw(`/api/tables/accounts?pageSize=1&cursor=${encodeURIComponent(old)}`, {
      headers: bearer(p.carol),
    })
    expect(replay.status).toBe(400)
    expect((await json(replay)).error?.code).toBe('invalid_cursor')
    const me = await json(await request(t, '/api/me', { token: p.carol }))
    expect(me['orgUrl']).toBe(sandbox.url)
  })

  it('no answer or log line of this run holds a token or the app’s secrets', () => {
    const all = t.logs.join('\n')
    expect(all).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/)
    expect(all).not.toContain(ids.multiTenantAppSecret)
    expect(all).not.toContain('test-state-secret-0123456789-abcdefghijkl')
    expect(all).not.toContain('unexpected error')
  })
})
