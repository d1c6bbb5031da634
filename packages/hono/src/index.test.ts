import { clientSecret, createTokenProvider, createUserTokenVerifier, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { DataverseError } from '@dataverse-s2s/webapi'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  apiSecureHeaders,
  createClientCache,
  type DataverseTenant,
  dataverseClient,
  dataverseErrorResponse,
  HonoS2SError,
  resolveTenant,
  verifyUser,
} from './index.ts'

let emulator: EmulatorHandle
let cloud: ReturnType<typeof defineCloud>
const appId = defaultIds.multiTenantAppId
const apiResource = `api://${appId}`
let registry: Map<string, DataverseTenant>

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  cloud = defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] })
  const contoso = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)
  registry = new Map([
    [
      defaultIds.contosoTenantId,
      { tenantId: defaultIds.contosoTenantId, orgUrl: contoso?.url ?? '', active: true },
    ],
    [
      defaultIds.fabrikamTenantId,
      {
        tenantId: defaultIds.fabrikamTenantId,
        orgUrl: 'https://localhost:1',
        active: false,
        reason: 'Offboarded.',
      },
    ],
  ])
})
afterAll(async () => {
  await emulator?.stop()
})

const userToken = (objectId: string, extra: { scp?: string; resource?: string } = {}) =>
  emulator.world.mintUserAccessToken({
    userObjectId: objectId,
    appId,
    resource: extra.resource ?? apiResource,
    ...(extra.scp === undefined ? {} : { scp: extra.scp }),
  })

function makeApp(options: { allowAll?: boolean; impersonate?: boolean } = {}) {
  const verifier = createUserTokenVerifier({
    audience: [appId, apiResource],
    cloud,
    requiredScopes: ['access_as_user'],
    http: { ca: emulator.caCertPem },
    isTenantAllowed: (tid) => options.allowAll === true || registry.has(tid),
  })
  const tokens = createTokenProvider({
    clientId: appId,
    credential: clientSecret(defaultIds.multiTenantAppSecret),
    cloud,
    http: { ca: emulator.caCertPem },
  })
  const denied: string[] = []
  const app = new Hono()
  app.use(
    '/api/*',
    apiSecureHeaders(),
    verifyUser({ verifier, onDenied: (e) => denied.push(e.code) }),
    resolveTenant({ lookup: (tid) => registry.get(tid), onDenied: (e) => denied.push(e.code) }),
    dataverseClient({
      tokens,
      client: { ca: emulator.caCertPem },
      impersonate: options.impersonate ?? ((c) => c.req.header('X-Act-As') === 'me'),
    }),
  )
  app.get('/api/me', (c) =>
    c.json({ user: c.var.user.objectId, tenant: c.var.tenant.tenantId, actor: c.var.actor }),
  )
  app.get('/api/accounts', async (c) => {
    const page = await c.var.dataverse.query('accounts', { select: ['name'], top: 3 })
    return c.json(page.value)
  })
  app.post('/api/accounts', async (c) => {
    const row = await c.var.dataverse.create<Record<string, unknown>>(
      'accounts',
      { name: 'Made by middleware' },
      { returnRepresentation: true, select: ['_createdby_value', '_createdonbehalfby_value'] },
    )
    const who = await c.var.dataverse.whoAmI()
    const app = await c.var.dataverseAsApp.whoAmI()
    return c.json({ row, who: who.userId, app: app.userId })
  })
  app.onError((err, c) => dataverseErrorResponse(err, c) ?? c.json({ error: { code: 'internal' } }, 500))
  return { app, denied }
}

const get = (app: Hono, token?: string, headers: Record<string, string> = {}) =>
  app.request('/api/me', { headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } })

describe('verifyUser', () => {
  it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
    const { app, denied } = makeApp()
    const res = await get(app)
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('missing_token')
    expect(denied).toEqual(['missing_token'])
  })

  it('answers 401 invalid_token for a token that is not a JWT, without echoing it', async () => {
    const { app } = makeApp()
    const res = await get(app, 'not-a-jwt-secret-looking-value')
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"')
    expect(await res.text()).not.toContain('not-a-jwt-secret-looking-value')
  })

  it('lets a valid token of an onboarded tenant through and sets c.var.user and c.var.tenant', async () => {
    const { app } = makeApp()
    const res = await get(app, await userToken(defaultIds.users.contosoAlice))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      user: defaultIds.users.contosoAlice,
      tenant: defaultIds.contosoTenantId,
      actor: 'app',
    })
  })

  it('accepts the scheme name in any case', async () => {
    const { app } = makeApp()
    const token = await userToken(defaultIds.users.contosoAlice)
    const res = await app.request('/api/me', { headers: { Authorization: `bearer ${token}` } })
    expect(res.status).toBe(200)
  })

  it('refuses a token for another audience with 401', async () => {
    const { app } = makeApp()
    const contoso = registry.get(defaultIds.contosoTenantId)?.orgUrl ?? ''
    const res = await get(app, await userToken(defaultIds.users.contosoAlice, { resource: contoso }))
    expect(res.status).toBe(401)
  })

  it('refuses a token without the required scope with 403 insufficient_scope', async () => {
    const { app } = makeApp()
    const res = await get(app, await userToken(defaultIds.users.contosoAlice, { scp: 'other' }))
    expect(res.status).toBe(403)
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="insufficient_scope"')
  })

  it('refuses users of a tenant the verifier does not allow with 403 tenant_not_onboarded', async () => {
    const { app } = makeApp()
    const res = await get(app, await userToken(defaultIds.users.isvAdmin))
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('tenant_not_onboarded')
  })

  it('throws INVALID_OPTIONS without a verifier', () => {
    expect(() => verifyUser({} as never)).toThrow(HonoS2SError)
  })
})

describe('resolveTenant', () => {
  it('refuses a tenant missing from the registry even when the verifier allowed it', async () => {
    const { app, denied } = makeApp({ allowAll: true })
    const res = await get(app, await userToken(defaultIds.users.isvAdmin))
    expect(res.status).toBe(403)
    expect(denied).toContain('tenant_not_onboarded')
  })

  it('refuses an inactive tenant with its reason', async () => {
    const { app } = makeApp()
    const res = await get(app, await userToken(defaultIds.users.fabrikamCarol))
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ error: { code: 'tenant_inactive', message: 'Offboarded.' } })
  })

  it('refuses when the lookup returns another tenant than the token’s', async () => {
    const app = new Hono()
    app.use('*', async (c, next) => {
      c.set('user', {
        tenantId: defaultIds.fabrikamTenantId,
        objectId: 'x',
        name: undefined,
        username: undefined,
        clientId: undefined,
        tokenVersion: '2.0',
        tokenType: 'user',
        scopes: [],
        roles: [],
        claims: {},
      })
      await next()
    })
    app.use('*', resolveTenant({ lookup: () => registry.get(defaultIds.contosoTenantId) }))
    app.get('/', (c) => c.text('reached'))
    expect((await app.request('/')).status).toBe(403)
  })

  it('fails loudly when verifyUser did not run first', async () => {
    const app = new Hono()
    app.use('*', resolveTenant({ lookup: () => undefined }))
    app.get('/', (c) => c.text('reached'))
    app.onError((err, c) => c.text(err instanceof HonoS2SError ? err.code : 'other', 500))
    expect(await (await app.request('/')).text()).toBe('MISSING_CONTEXT')
  })
})

describe('dataverseClient', () => {
  it('reads the tenant’s org as the application user', async () => {
    const { app } = makeApp()
    const res = await app.request('/api/accounts', {
      headers: { Authorization: `Bearer ${await userToken(defaultIds.users.contosoAlice)}` },
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as unknown[]).length).toBeGreaterThan(0)
  })

  it('impersonates the verified user (CallerObjectId): audit columns name the user and the app', async () => {
    const { app } = makeApp()
    const headers = {
      Authorization: `Bearer ${await userToken(defaultIds.users.contosoAlice)}`,
      'X-Act-As': 'me',
    }
    const res = await app.request('/api/accounts', { method: 'POST', headers })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { row: Record<string, string>; who: string; app: string }
    expect(body.who).not.toBe(body.app)
    expect(body.row._createdby_value).toBe(body.who)
    expect(body.row._createdonbehalfby_value).toBe(body.app)
  })

  it('a user without privileges acting as themselves gets a clear 403', async () => {
    const { app } = makeApp()
    const headers = {
      Authorization: `Bearer ${await userToken(defaultIds.users.contosoBob)}`,
      'X-Act-As': 'me',
    }
    const res = await app.request('/api/accounts', { method: 'POST', headers })
    expect(res.status).toBe(403)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('dataverse_forbidden')
    expect(body.error.message).toContain('your own account')
  })

  it('refuses to impersonate when no verified user is on the context', async () => {
    const tokens = { getToken: async () => ({ token: 't', expiresOn: new Date() }), invalidate: () => {} }
    const app = new Hono()
    app.use('*', async (c, next) => {
      c.set('tenant', {
        tenantId: defaultIds.contosoTenantId,
        orgUrl: 'https://contoso.crm.dynamics.com',
        active: true,
      })
      await next()
    })
    app.use('*', dataverseClient({ tokens, impersonate: true }))
    app.get('/', (c) => c.text(c.var.actor))
    app.onError((err, c) => c.text(err instanceof HonoS2SError ? err.code : 'other', 500))
    expect(await (await app.request('/')).text()).toBe('MISSING_CONTEXT')
  })

  it('keeps one client per tenant and org, evicting the least recently used', () => {
    const tokens = { getToken: async () => ({ token: 't', expiresOn: new Date() }), invalidate: () => {} }
    const cache = createClientCache({ tokens, maxClients: 2 })
    const a = cache.get('A', 'https://a.crm.dynamics.com')
    expect(cache.get('a', 'https://a.crm.dynamics.com')).toBe(a)
    cache.get('B', 'https://b.crm.dynamics.com')
    cache.get('A', 'https://a.crm.dynamics.com')
    cache.get('C', 'https://c.crm.dynamics.com')
    expect(cache.size).toBe(2)
    expect(cache.get('A', 'https://a.crm.dynamics.com')).toBe(a)
  })
})

describe('apiSecureHeaders and dataverseErrorResponse', () => {
  it('sets a deny-all CSP, nosniff, no-referrer, frame denial and no-store', async () => {
    const app = new Hono()
    app.use('*', apiSecureHeaders())
    app.get('/', (c) => c.json({}))
    const res = await app.request('/')
    expect(res.headers.get('Content-Security-Policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(res.headers.get('Referrer-Policy')).toBe('no-referrer')
    expect(res.headers.get('X-Frame-Options')).toBe('DENY')
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    expect(res.headers.get('Strict-Transport-Security')).toContain('max-age=')
  })

  it.each([
    [new DataverseError('NOT_FOUND', 'x', { status: 404 }), 404, 'not_found'],
    [new DataverseError('PRECONDITION_FAILED', 'x', { status: 412 }), 412, 'etag_mismatch'],
    [
      new DataverseError('FORBIDDEN', 'x', { status: 403, serviceCode: '0x80072560' }),
      403,
      'application_user_missing',
    ],
    [new DataverseError('THROTTLED', 'x', { status: 429, retryAfterMs: 2500 }), 429, 'throttled'],
    [new DataverseError('TOKEN', 'x'), 502, 'org_connection_failed'],
    [new DataverseError('SERVER', 'x', { status: 503 }), 502, 'dataverse_unavailable'],
  ])('maps %s to %i %s', async (error, status, code) => {
    const app = new Hono()
    app.get('/', () => {
      throw error
    })
    app.onError((err, c) => dataverseErrorResponse(err, c) ?? c.text('unhandled', 500))
    const res = await app.request('/')
    expect(res.status).toBe(status)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
    if (status === 429) expect(res.headers.get('Retry-After')).toBe('3')
  })

  it('leaves other errors to the app', async () => {
    const app = new Hono()
    app.get('/', () => {
      throw new TypeError('boom')
    })
    app.onError((err, c) => dataverseErrorResponse(err, c) ?? c.text('unhandled', 500))
    expect(await (await app.request('/')).text()).toBe('unhandled')
  })
})
