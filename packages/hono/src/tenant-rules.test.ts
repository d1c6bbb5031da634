import type { VerifiedUser } from '@dataverse-s2s/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { apiSecureHeaders } from './secure-headers.ts'
import { resolveTenant } from './tenant.ts'
import type { DataverseTenant } from './types.ts'
import type { DenialEvent } from './verify-user.ts'

// resolveTenant and apiSecureHeaders rule by rule (found by mutation testing: `pnpm mutate hono`).

const TID = '11111111-2222-3333-4444-555555555555'
const user = { objectId: 'oid-1', tenantId: TID, name: 'n' } as unknown as VerifiedUser

function appWith(lookup: (tid: string) => DataverseTenant | undefined, signedIn: VerifiedUser | null = user) {
  const denied: DenialEvent[] = []
  const asked: string[] = []
  const app = new Hono()
  app.use('/api/*', async (c, next) => {
    if (signedIn) c.set('user', signedIn)
    await next()
  })
  app.use(
    '/api/*',
    resolveTenant({
      lookup: (tid) => {
        asked.push(tid)
        return lookup(tid)
      },
      onDenied: (e) => denied.push(e),
    }),
  )
  app.get('/api/x', (c) => c.json({ tenant: c.var.tenant.tenantId }))
  app.onError((err, c) => c.json({ error: { code: (err as { code?: string }).code ?? 'internal' } }, 500))
  return { app, denied, asked }
}

const tenant = (over: Partial<DataverseTenant> = {}) =>
  ({ tenantId: TID, orgUrl: 'https://o.crm.dynamics.com', active: true, ...over }) as DataverseTenant

describe('resolveTenant rules', () => {
  it('asks the registry for the verified tid only, and stores the tenant', async () => {
    const { app, asked } = appWith(() => tenant())
    const res = await app.request('/api/x?tenant=other', { headers: { 'X-Tenant-Id': 'other' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ tenant: TID })
    expect(asked).toEqual([TID])
  })

  it('refuses an unknown tenant with tenant_not_onboarded, naming who was refused', async () => {
    const { app, denied } = appWith(() => undefined)
    const res = await app.request('/api/x')
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({
      error: {
        code: 'tenant_not_onboarded',
        message:
          'Your organization is not connected to this app yet: ask your administrator to connect it (onboarding).',
      },
    })
    expect(denied).toEqual([
      { status: 403, code: 'tenant_not_onboarded', tenantId: TID, objectId: 'oid-1', path: '/api/x' },
    ])
  })

  it("refuses a registry answer for another tenant than the user's (a lookup bug must not cross tenants)", async () => {
    const { app, denied } = appWith(() => tenant({ tenantId: '99999999-2222-3333-4444-555555555555' }))
    const res = await app.request('/api/x')
    expect(res.status).toBe(403)
    expect(denied[0]?.code).toBe('tenant_not_onboarded')
  })

  it('compares tenant ids case-insensitively', async () => {
    const { app } = appWith(() => tenant({ tenantId: TID.toUpperCase() }))
    expect((await app.request('/api/x')).status).toBe(200)
  })

  it("refuses an inactive tenant with tenant_inactive and the registry's reason, or a default that says what to do", async () => {
    const withReason = appWith(() => tenant({ active: false, reason: 'Offboarded on 1 May.' }))
    const res = await withReason.app.request('/api/x')
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ error: { code: 'tenant_inactive', message: 'Offboarded on 1 May.' } })
    expect(withReason.denied).toEqual([
      { status: 403, code: 'tenant_inactive', tenantId: TID, objectId: 'oid-1', path: '/api/x' },
    ])
    const without = appWith(() => tenant({ active: false }))
    const body = (await (await without.app.request('/api/x')).json()) as { error: { message: string } }
    expect(body.error.message).toMatch(/not active: ask your administrator/)
  })

  it('fails loudly when verifyUser did not run first, and needs a lookup function', async () => {
    const { app } = appWith(() => tenant(), null)
    const res = await app.request('/api/x')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: { code: 'MISSING_CONTEXT' } })
    for (const bad of [undefined, {}, { lookup: 'x' }]) {
      expect(() => resolveTenant(bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/lookup/) }),
      )
    }
  })
})

describe('resolveTenant without onDenied', () => {
  const bare = (lookup: () => DataverseTenant | undefined, signedIn: VerifiedUser | null = user) => {
    const app = new Hono()
    app.use('/api/*', async (c, next) => {
      if (signedIn) c.set('user', signedIn)
      await next()
    })
    app.use('/api/*', resolveTenant({ lookup }))
    app.get('/api/x', (c) => c.json({ tenant: c.var.tenant.tenantId }))
    app.onError((err, c) => c.json({ error: { name: err.name, message: err.message } }, 500))
    return app
  }

  it('refuses an unknown or inactive tenant with 403 and no callback to call', async () => {
    expect((await bare(() => undefined).request('/api/x')).status).toBe(403)
    const inactive = await bare(() => tenant({ active: false })).request('/api/x')
    expect(inactive.status).toBe(403)
    expect(((await inactive.json()) as { error: { code: string } }).error.code).toBe('tenant_inactive')
  })

  it('says which middleware must run first when there is no verified user (MISSING_CONTEXT)', async () => {
    const res = await bare(() => tenant(), null).request('/api/x')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({
      error: { name: 'HonoS2SError', message: 'resolveTenant runs after verifyUser: add verifyUser first' },
    })
  })
})

describe('apiSecureHeaders rules', () => {
  const appWithHeaders = (options?: Parameters<typeof apiSecureHeaders>[0], cacheControl?: string) => {
    const app = new Hono()
    app.use('*', apiSecureHeaders(options))
    app.get('/x', (c) => {
      if (cacheControl) c.header('Cache-Control', cacheControl)
      return c.json({})
    })
    return app
  }

  it('sends a CSP that allows nothing, no framing, no sniffing, no referrer, same-origin policies and HSTS', async () => {
    const res = await appWithHeaders().request('/x')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin')
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('leaves HSTS out on request, and keeps a Cache-Control the route set', async () => {
    const res = await appWithHeaders({ hsts: false }, 'private, max-age=60').request('/x')
    expect(res.headers.get('strict-transport-security')).toBeNull()
    expect(res.headers.get('cache-control')).toBe('private, max-age=60')
    const on = await appWithHeaders({ hsts: true }).request('/x')
    expect(on.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  })
})
