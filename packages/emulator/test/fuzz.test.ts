import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:tls'
import fc from 'fast-check'
import { importPKCS8, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

// Generated malformed requests against a running emulator (HTTPS, as clients see it). Every one must get a typed 4xx
// in Entra's or Dataverse's error format, quickly, and the emulator must still serve a valid request afterwards.
// The seed is fixed so a failure reproduces; each property stops at its time budget (the whole file stays ~15 s).
const SEED = 20_261_204
const BUDGET_MS = 1_500
const REPLY_BOUND_MS = 3_000
const ids = defaultIds
const options = (numRuns: number) => ({
  seed: SEED,
  numRuns,
  interruptAfterTimeLimit: BUDGET_MS,
  markInterruptAsFailure: false,
})

let emulator: EmulatorHandle
let restore: () => void
let orgUrl: string
let token: string

async function appToken(): Promise<string> {
  const res = await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: ids.multiTenantAppSecret,
      scope: `${orgUrl}/.default`,
    }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restore = emulator.trust.installGlobally()
  orgUrl = emulator.orgs.find((o) => o.tenantId === ids.contosoTenantId)!.url
  token = await appToken()
}, 60_000)
afterAll(async () => {
  restore?.()
  await emulator?.stop()
})

async function timed(request: () => Promise<Response>): Promise<{ res: Response; text: string }> {
  const started = performance.now()
  const res = await request()
  const text = await res.text()
  expect(performance.now() - started, 'answered within the bound').toBeLessThan(REPLY_BOUND_MS)
  return { res, text }
}

/** A Dataverse-shaped 4xx: `{ "error": { "code", "message" } }`. */
function expectDataverse4xx({ res, text }: { res: Response; text: string }, what: string) {
  expect(res.status, `${what} → ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, what).toBeLessThan(500)
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
  expect(typeof body.error?.code, what).toBe('string')
  expect(String(body.error?.message ?? '').length, what).toBeGreaterThan(0)
}

/** An Entra-shaped 4xx: `error`, `error_description` starting `AADSTS<n>: `, `error_codes`. */
function expectEntra4xx({ res, text }: { res: Response; text: string }, what: string) {
  expect(res.status, `${what} → ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, what).toBeLessThan(500)
  const body = JSON.parse(text) as Record<string, unknown>
  expect(typeof body['error'], what).toBe('string')
  expect(String(body['error_description']), what).toMatch(/^AADSTS\d+: /)
  expect(Array.isArray(body['error_codes']), what).toBe(true)
}

/** The emulator still serves valid requests: a token, then WhoAmI with it. */
async function stillServing() {
  const fresh = await appToken()
  const res = await fetch(`${orgUrl}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${fresh}` } })
  expect(res.status).toBe(200)
  expect(((await res.json()) as { UserId?: string }).UserId).toMatch(/^[0-9a-f-]{36}$/)
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${orgUrl}/api/data/v9.2/${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  })
const text = fc.string({ unit: 'binary', maxLength: 40 })
const word = fc.stringMatching(/^[a-z]{1,12}$/)

describe('the emulator under generated malformed requests', () => {
  it('JSON bodies: non-objects, truncated JSON, unknown columns, wrong types → 400 0x80048d19-style', async () => {
    const known = fc.dictionary(
      fc.constantFrom('name', 'accountnumber', 'description'),
      fc.string({ maxLength: 20 }),
    )
    const body = fc.oneof(
      fc
        .oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.integer(), fc.string(), fc.constant(null))
        .map((v) => JSON.stringify(v)),
      known.filter((o) => Object.keys(o).length > 0).map((o) => JSON.stringify(o).slice(0, -1)),
      fc.tuple(known, word, fc.jsonValue()).map(([o, k, v]) => JSON.stringify({ ...o, [`zz_${k}`]: v })),
      fc
        .oneof(
          fc.integer(),
          fc.boolean(),
          fc.array(fc.string(), { maxLength: 2 }),
          fc.object({ maxDepth: 2 }),
        )
        .map((v) => JSON.stringify({ name: v })),
      fc.integer({ min: 1, max: 5_000 }).map((n) => `{"description":${'['.repeat(n)}${']'.repeat(n)}}`),
      fc
        .tuple(known, word)
        .map(([o, w]) => JSON.stringify({ ...o, '@odata.type': `Microsoft.Dynamics.CRM.zz${w}` })),
      text.filter((v) => !/^[0-9a-fA-F-]{36}$/.test(v)).map((v) => JSON.stringify({ accountid: v })),
    )
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('POST', 'PATCH'), async (b, method) => {
        const path = method === 'POST' ? 'accounts' : `accounts(${ids.contosoOrgId})`
        const reply = await timed(() =>
          api(path, { method, headers: { 'content-type': 'application/json' }, body: b }),
        )
        expectDataverse4xx(reply, `${method} ${b.slice(0, 80)}`)
      }),
      options(120),
    )
    await stillServing()
  })

  it('OData query options that cannot be valid → 400', async () => {
    const option = fc.oneof(
      fc.tuple(word, text).map(([c, v]) => `$filter=zz${c} eq ${encodeURIComponent(v)}`),
      fc.integer({ min: 1, max: 400 }).map((n) => `$filter=${'('.repeat(n)}name eq 'x'`),
      fc.integer({ min: 101, max: 2_000 }).map((n) => `$filter=${'not '.repeat(n)}(name eq 'x')`),
      fc
        .array(fc.constantFrom(' and', ' or', ' eq', ' (', ')', " 'x'", ' 1', ' name'), {
          minLength: 1,
          maxLength: 8,
        })
        .map((t) => `$filter=name eq 'a'${encodeURIComponent(t.join(''))} eq`),
      fc
        .bigInt({ min: 9_223_372_036_854_775_808n, max: 10n ** 30n })
        .map((n) => `$filter=numberofemployees eq ${n}`),
      fc.oneof(fc.integer({ max: -1 }), word).map((v) => `$top=${v}`),
      word.map((w) => `$select=zz${w}`),
      word.map((w) => `$orderby=name ${w}x`),
      word.map((w) => `$zz${w}=1`),
      text.map((v) => `$skiptoken=${encodeURIComponent(`x${v}`)}`),
      word.map((w) => `$expand=zz${w}`),
      text.map((v) => `savedQuery=${encodeURIComponent(`x${v}`)}`),
      fc.uuid().map((u) => `userQuery=${u}`),
    )
    await fc.assert(
      fc.asyncProperty(option, async (q) => {
        expectDataverse4xx(await timed(() => api(`accounts?${q}`)), q.slice(0, 120))
      }),
      options(150),
    )
    await stillServing()
  })

  it('keys that are neither GUIDs nor alternate keys → 400 or 404', async () => {
    const key = fc.oneof(
      text.filter((s) => !/^[0-9a-fA-F-]{36}$/.test(s)),
      fc.uuid().map((u) => `${u}x`),
      word.map((w) => `zz${w}='1'`),
      fc.string({ maxLength: 10 }).map((s) => `accountnumber='${s}`),
    )
    await fc.assert(
      fc.asyncProperty(key, fc.constantFrom('GET', 'PATCH', 'DELETE'), async (k, method) => {
        const reply = await timed(() =>
          api(`accounts(${encodeURIComponent(k)})`, {
            method,
            ...(method === 'PATCH' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
          }),
        )
        expectDataverse4xx(reply, `${method} accounts(${k})`)
      }),
      options(120),
    )
    await stillServing()
  })

  it('$batch bodies with a missing, wrong or broken boundary → 400', async () => {
    const batch = fc.record({
      type: fc.oneof(
        fc.constant('multipart/mixed'),
        word.map((b) => `multipart/mixed; boundary=batch_${b}`),
        fc.constant('application/json'),
        fc.string({ maxLength: 20 }).map((t) => `multipart/mixed; boundary="${t}`),
      ),
      body: fc.oneof(
        text,
        word.map(
          (b) => `--other_${b}\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n\r\n`,
        ),
        fc.constant(''),
      ),
    })
    await fc.assert(
      fc.asyncProperty(batch, async ({ type, body }) => {
        const reply = await timed(() =>
          api('$batch', { method: 'POST', headers: { 'content-type': type }, body }),
        )
        expectDataverse4xx(reply, `${type} ${body.slice(0, 60)}`)
      }),
      options(100),
    )
    await stillServing()
  })

  it('FetchXML that is not well-formed or names what does not exist → 400', async () => {
    const cond = (attr: string) => `<condition attribute="${attr}"`
    const fetchXml = fc.oneof(
      text.map((t) => `<fetch><entity name="account">${t.replaceAll('<', '')}`),
      fc
        .oneof(
          fc.integer({ min: 0x110000, max: 0x7fffffff }),
          fc.integer({ min: 0xd800, max: 0xdfff }),
          fc.integer({ min: 0, max: 8 }),
        )
        .map(
          (n) =>
            `<fetch><entity name="account"><filter>${cond('name')} operator="eq" value="&#${n};"/></filter></entity></fetch>`,
        ),
      word.map((w) => `<fetch><entity name="account"><zz${w}/></entity></fetch>`),
      word.map(
        (w) =>
          `<fetch><entity name="account"><filter>${cond('name')} operator="zz${w}" value="1"/></filter></entity></fetch>`,
      ),
      word.map(
        (w) =>
          `<fetch><entity name="account"><filter>${cond(`zz${w}`)} operator="eq" value="1"/></filter></entity></fetch>`,
      ),
      fc.constant(
        `<fetch><entity name="account"><filter>${cond('name')} operator="in"/></filter></entity></fetch>`,
      ),
      fc
        .tuple(word, fc.boolean())
        .map(
          ([fn, alias]) =>
            `<fetch aggregate="true"><entity name="account"><attribute name="numberofemployees" aggregate="zz${fn}"${alias ? ' alias="a"' : ''}/></entity></fetch>`,
        ),
      fc.integer({ min: 51, max: 300 }).map((n) => `<fetch>${'<x>'.repeat(n)}`),
    )
    await fc.assert(
      fc.asyncProperty(fetchXml, async (x) => {
        expectDataverse4xx(
          await timed(() => api(`accounts?fetchXml=${encodeURIComponent(x)}`)),
          x.slice(0, 120),
        )
      }),
      options(150),
    )
    await stillServing()
  })

  it('token-endpoint forms that cannot succeed → an Entra-shaped 4xx', async () => {
    const names = [
      'grant_type',
      'client_id',
      'client_secret',
      'scope',
      'client_assertion',
      'client_assertion_type',
      'resource',
      'code',
    ]
    const value = fc.oneof(
      text,
      fc.constantFrom('client_credentials', ids.multiTenantAppId, `${orgUrl}/.default`, 'authorization_code'),
    )
    const form = fc.oneof(
      // No valid secret anywhere: whatever else is sent, the client cannot authenticate.
      fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 8 }),
      // A parameter sent twice (RFC 6749 §3.2), on an otherwise valid request.
      fc.constantFrom(...names.slice(0, 4)).map((repeated) => {
        const pairs: [string, string][] = [
          ['grant_type', 'client_credentials'],
          ['client_id', ids.multiTenantAppId],
          ['client_secret', ids.multiTenantAppSecret],
          ['scope', `${orgUrl}/.default`],
        ]
        return [...pairs, pairs.find(([k]) => k === repeated)!]
      }),
      // Two resources' /.default in one scope (AADSTS70011).
      fc.constant<[string, string][]>([
        ['grant_type', 'client_credentials'],
        ['client_id', ids.multiTenantAppId],
        ['client_secret', ids.multiTenantAppSecret],
        ['scope', `${orgUrl}/.default https://graph.microsoft.com/.default`],
      ]),
    )
    await fc.assert(
      fc.asyncProperty(
        form,
        fc.constantFrom(ids.contosoTenantId, 'organizations', 'nope'),
        async (pairs, tenant) => {
          const reply = await timed(() =>
            fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(pairs),
            }),
          )
          expectEntra4xx(reply, JSON.stringify(pairs).slice(0, 200))
        },
      ),
      options(150),
    )
    await stillServing()
  })

  it('client assertions with malformed claims, validly signed → an Entra-shaped 4xx', async () => {
    const cert = emulator.apps.find((a) => a.appId === ids.multiTenantAppId)!.certificates[0]!
    const key = await importPKCS8(cert.privateKeyPem!, 'PS256')
    const tokenUrl = `${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`
    const odd = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.double(),
      fc.constant(1e300),
    )
    const claims = fc.oneof(
      fc.record({ exp: odd, nbf: fc.option(odd, { nil: undefined }) }),
      fc.record({
        exp: fc.constant(Math.floor(Date.now() / 1000) + 600),
        nbf: odd.filter((v) => typeof v !== 'number'),
      }),
      fc.record({ aud: odd, exp: fc.constant(Math.floor(Date.now() / 1000) + 600) }),
    )
    await fc.assert(
      fc.asyncProperty(claims, async (c) => {
        const assertion = await new SignJWT({
          iss: ids.multiTenantAppId,
          sub: ids.multiTenantAppId,
          aud: tokenUrl,
          jti: randomUUID(),
          ...(c as Record<string, unknown>),
        })
          .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.thumbprintSha256 })
          .sign(key)
        const reply = await timed(() =>
          fetch(tokenUrl, {
            method: 'POST',
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: ids.multiTenantAppId,
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: assertion,
              scope: `${orgUrl}/.default`,
            }),
          }),
        )
        expectEntra4xx(reply, JSON.stringify(c).slice(0, 200))
      }),
      options(80),
    )
    await stillServing()
  })

  it('headers: a garbage bearer token → 401 challenge; a non-GUID CallerObjectId → 400', async () => {
    // Printable text (ASCII and Latin-1): what an HTTP client can put in a header at all.
    const visible = fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((c) => c !== 0x7f)
        .map((c) => String.fromCharCode(c)),
      maxLength: 40,
    })
    const header = fc.oneof(
      visible.map((t) => ({ authorization: `Bearer x${t}` }) as Record<string, string>),
      visible
        .filter((t) => !/^[0-9a-fA-F-]{36}$/.test(t.trim()))
        .map((t) => ({ callerobjectid: t.trim() === '' ? 'x' : t }) as Record<string, string>),
    )
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        const reply = await timed(() => api('WhoAmI', { headers: h }))
        if ('authorization' in h) {
          // Dataverse's documented challenge: 401 with an empty body and WWW-Authenticate naming the authority.
          expect(reply.res.status).toBe(401)
          expect(reply.res.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/)
        } else expectDataverse4xx(reply, JSON.stringify(h))
      }),
      options(120),
    )
    await stillServing()
  })
})

describe('Entra refusals the fuzzing relies on', () => {
  const token = (pairs: [string, string][]) =>
    fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams(pairs),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error_codes: number[] } }))
  const valid = (): [string, string][] => [
    ['grant_type', 'client_credentials'],
    ['client_id', ids.multiTenantAppId],
    ['client_secret', ids.multiTenantAppSecret],
    ['scope', `${orgUrl}/.default`],
  ]

  it('a repeated client_id is AADSTS90011, another repeated parameter AADSTS90100; once each succeeds', async () => {
    expect(await token([...valid(), ['client_id', ids.multiTenantAppId]])).toMatchObject({
      status: 400,
      body: { error_codes: [90011] },
    })
    expect(await token([...valid(), ['scope', `${orgUrl}/.default`]])).toMatchObject({
      status: 400,
      body: { error_codes: [90100] },
    })
    expect((await token(valid())).status).toBe(200)
  })

  it('two resources’ /.default in one scope is AADSTS70011', async () => {
    const pairs = valid().map(([k, v]): [string, string] =>
      k === 'scope' ? [k, `${v} https://graph.microsoft.com/.default`] : [k, v],
    )
    expect(await token(pairs)).toMatchObject({ status: 400, body: { error_codes: [70011] } })
  })
})

describe('request-size bounds over real sockets', () => {
  async function declareHuge(url: string, path: string): Promise<string> {
    const { port } = new URL(url)
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      servername: 'localhost',
      ca: emulator.caCertPem,
    })
    await once(socket, 'secureConnect')
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${512 * 1024 * 1024}\r\n\r\n{`,
    )
    let reply = ''
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1')
    })
    // Bounded: the server must answer and close by itself; the test gives up after 5 s.
    const deadline = setTimeout(() => socket.destroy(), 5_000)
    await once(socket, 'close')
    clearTimeout(deadline)
    return reply
  }

  it('Entra ID, an org and the admin API answer a declared 512 MB body with 413 at once and close the connection', async () => {
    const started = performance.now()
    expect(await declareHuge(emulator.url, `/${ids.contosoTenantId}/oauth2/v2.0/token`)).toMatch(
      /^HTTP\/1\.1 413 /,
    )
    expect(await declareHuge(orgUrl, '/api/data/v9.2/accounts')).toMatch(/^HTTP\/1\.1 413 /)
    expect(await declareHuge(emulator.url, '/_emulator/tenants')).toMatch(/^HTTP\/1\.1 413 /)
    expect(performance.now() - started).toBeLessThan(5_000)
    await stillServing()
  })
})
