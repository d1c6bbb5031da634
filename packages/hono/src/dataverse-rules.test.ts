import type { VerifiedUser } from '@dataverse-s2s/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createClientCache, dataverseClient } from './dataverse.ts'
import { HonoS2SError } from './errors.ts'

// dataverseClient and its client cache rule by rule, with a fake token provider and a fake fetch (found by mutation
// testing: `pnpm mutate hono`). The real flow against the emulator is in index.test.ts.

const TENANT = '11111111-2222-3333-4444-555555555555'
const ORG = 'https://contoso.crm.dynamics.com'
const WHO = { UserId: 'u', BusinessUnitId: 'b', OrganizationId: 'o' }

function fakeTokens() {
  const invalidated: unknown[] = []
  let n = 0
  return {
    invalidated,
    tokens: {
      getToken: async () => ({ token: `t${++n}`, expiresOn: new Date(Date.now() + 3_600_000) }),
      invalidate: (req: unknown) => {
        invalidated.push(req)
      },
    },
  }
}

const thrown = (f: () => unknown) => {
  try {
    f()
  } catch (error) {
    return error
  }
  return undefined
}

describe('dataverseClient: its options', () => {
  it.each([
    ['no options', undefined],
    ['no tokens', {}],
    ['tokens without getToken', { tokens: { invalidate: () => {} } }],
    ['tokens whose getToken is not a function', { tokens: { getToken: 'x', invalidate: () => {} } }],
  ])('refuses %s (INVALID_OPTIONS naming tokens)', (_, options) => {
    const error = thrown(() => dataverseClient(options as never))
    expect(error).toBeInstanceOf(HonoS2SError)
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'dataverseClient needs tokens (createTokenProvider from core)',
    })
  })
})

describe('dataverseClient: the request context', () => {
  function appWith(options: Parameters<typeof dataverseClient>[0], tenant = true, user = true) {
    const app = new Hono()
    app.use('*', async (c, next) => {
      if (tenant) c.set('tenant', { tenantId: TENANT, orgUrl: ORG, active: true })
      if (user)
        c.set('user', {
          objectId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
          tenantId: TENANT,
        } as unknown as VerifiedUser)
      await next()
    })
    app.use('*', dataverseClient(options))
    app.get('/', (c) => c.json({ actor: c.var.actor, same: c.var.dataverse === c.var.dataverseAsApp }))
    app.onError((err, c) =>
      c.json(
        err instanceof HonoS2SError ? { code: err.code, message: err.message } : { other: err.message },
        500,
      ),
    )
    return app
  }

  it('refuses to run before resolveTenant (MISSING_CONTEXT naming resolveTenant)', async () => {
    const res = await appWith({ tokens: fakeTokens().tokens }, false).request('/')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({
      code: 'MISSING_CONTEXT',
      message: 'dataverseClient runs after resolveTenant: add resolveTenant first',
    })
  })

  it('refuses to impersonate without a verified user (MISSING_CONTEXT naming verifyUser)', async () => {
    const res = await appWith({ tokens: fakeTokens().tokens, impersonate: true }, true, false).request('/')
    expect(await res.json()).toEqual({
      code: 'MISSING_CONTEXT',
      message: 'Impersonation needs the verified user: add verifyUser first',
    })
  })

  it('acts as the app by default: the same client as dataverseAsApp', async () => {
    const res = await appWith({ tokens: fakeTokens().tokens }).request('/')
    expect(await res.json()).toEqual({ actor: 'app', same: true })
  })

  it('acts as the user when impersonate is true', async () => {
    const res = await appWith({ tokens: fakeTokens().tokens, impersonate: true }).request('/')
    expect(await res.json()).toEqual({ actor: 'user', same: false })
  })
})

describe('createClientCache: tokens', () => {
  function cacheAnswering(statuses: number[]) {
    const { tokens, invalidated } = fakeTokens()
    const auth: string[] = []
    const cache = createClientCache({
      tokens,
      client: {
        retry: false,
        fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
          auth.push(new Request(input, init).headers.get('authorization') ?? '')
          const status = statuses.shift() ?? 200
          return status === 200
            ? Response.json(WHO)
            : Response.json({ error: { code: '0x80040220', message: 'no' } }, { status })
        }) as typeof fetch,
      },
    })
    return { cache, invalidated, auth }
  }

  it('a forced refresh (after a 401) invalidates the cached token of that tenant and org only', async () => {
    const { cache, invalidated, auth } = cacheAnswering([401, 200])
    await cache.get(TENANT, ORG).whoAmI()
    expect(invalidated).toEqual([{ tenantId: TENANT, resource: ORG }])
    expect(auth).toEqual(['Bearer t1', 'Bearer t2'])
  })

  it('an ordinary request invalidates nothing', async () => {
    const { cache, invalidated } = cacheAnswering([200])
    await cache.get(TENANT, ORG).whoAmI()
    expect(invalidated).toEqual([])
  })
})
