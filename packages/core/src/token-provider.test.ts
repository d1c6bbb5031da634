import { describe, expect, it } from 'vitest'
import { fakeEntra } from '../test/helpers/fake-entra.ts'
import { clientSecret } from './credentials.ts'
import { TokenError } from './errors.ts'
import { createMemoryTokenStore } from './token-cache.ts'
import { createTokenProvider } from './token-provider.ts'

const clientId = '00000000-0000-0000-0000-0000000000aa'
const secret = 'super-secret-value-123'
const t1 = '11111111-1111-1111-1111-111111111111'
const t2 = '22222222-2222-2222-2222-222222222222'
const t3 = '33333333-3333-3333-3333-333333333333'
const org = 'https://contoso.crm.dynamics.com'

function make(extra: { cloud?: 'public' | { name: string; authorityHost: string } } = {}) {
  const entra = fakeEntra({ clientId, secret, consented: [t1, t2], tenants: [t3] })
  const provider = createTokenProvider({
    clientId,
    credential: clientSecret(secret),
    networkClient: entra.module,
    ...(extra.cloud ? { cloud: extra.cloud } : {}),
  })
  return { entra, provider }
}

describe('createTokenProvider (real MSAL, in-process Entra)', () => {
  it('gets a token per tenant through MSAL, then serves it from memory', async () => {
    const { entra, provider } = make()
    const a = await provider.getToken({ tenantId: t1, resource: `${org}/` })
    const b = await provider.getToken({ tenantId: t2, resource: org })
    expect(a.token).not.toBe(b.token)
    expect(a.expiresOn.getTime()).toBeGreaterThan(Date.now() + 3_000_000)
    expect(await provider.getToken({ tenantId: t1.toUpperCase(), resource: org })).toBe(a)
    expect(entra.tokenRequests()).toBe(2)
  })

  it('works with a custom cloud without instance discovery', async () => {
    const { entra, provider } = make({
      cloud: { name: 'private', authorityHost: 'https://login.private.example' },
    })
    await provider.getToken({ tenantId: t1, resource: org })
    expect(entra.tokenRequests()).toBe(1)
    expect(entra.gets).toEqual([])
  })

  it('maps AADSTS700016 to APP_NOT_FOUND_IN_TENANT with a consent URL, MSAL error as cause', async () => {
    const { provider } = make()
    const e = await provider.getToken({ tenantId: t3, resource: org }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(TokenError)
    expect(e).toMatchObject({ code: 'APP_NOT_FOUND_IN_TENANT', details: { aadsts: 700016, tenantId: t3 } })
    expect((e as TokenError).message).toContain(`no service principal in tenant ${t3}`)
    expect((e as TokenError).details.consentUrl).toContain(`/${t3}/v2.0/adminconsent?client_id=${clientId}`)
    expect((e as TokenError).cause).toMatchObject({ errorCode: 'unauthorized_client' })
  })

  it('maps AADSTS90002 to TENANT_NOT_FOUND', async () => {
    const { provider } = make()
    await expect(
      provider.getToken({ tenantId: '99999999-9999-9999-9999-999999999999', resource: org }),
    ).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' })
  })

  it('maps a wrong secret to INVALID_CLIENT_SECRET', async () => {
    const entra = fakeEntra({ clientId, secret, consented: [t1] })
    const provider = createTokenProvider({
      clientId,
      credential: clientSecret('wrong-secret-xyz'),
      networkClient: entra.module,
    })
    const e = (await provider
      .getToken({ tenantId: t1, resource: org })
      .catch((x: unknown) => x)) as TokenError
    expect(e.code).toBe('INVALID_CLIENT_SECRET')
    expect(e.message).not.toContain('wrong-secret-xyz')
  })

  it.each(['common', 'organizations', 'consumers', 'Common'])(
    'refuses %s for app-only tokens',
    async (tenantId) => {
      const { entra, provider } = make()
      await expect(provider.getToken({ tenantId, resource: org })).rejects.toMatchObject({
        code: 'INVALID_TENANT',
      })
      expect(entra.tokenRequests()).toBe(0)
    },
  )

  it('refuses bad tenants and resources before any request', async () => {
    const { entra, provider } = make()
    await expect(provider.getToken({ tenantId: 'a/b', resource: org })).rejects.toMatchObject({
      code: 'INVALID_TENANT',
    })
    await expect(provider.getToken({ resource: org })).rejects.toMatchObject({ code: 'INVALID_TENANT' })
    await expect(provider.getToken({ tenantId: t1, resource: 'contoso' })).rejects.toMatchObject({
      code: 'INVALID_RESOURCE',
    })
    await expect(
      provider.getToken({ tenantId: t1, resource: 'http://contoso.crm.dynamics.com' }),
    ).rejects.toMatchObject({
      code: 'INVALID_RESOURCE',
    })
    expect(entra.tokenRequests()).toBe(0)
  })

  it('uses a default tenant for single-tenant apps', async () => {
    const entra = fakeEntra({ clientId, secret, consented: [t1] })
    const provider = createTokenProvider({
      clientId,
      tenantId: t1,
      credential: clientSecret(secret),
      networkClient: entra.module,
    })
    await expect(provider.getToken({ resource: org })).resolves.toHaveProperty('token')
  })

  it('validates options up front', () => {
    expect(() => createTokenProvider({ clientId: 'nope', credential: clientSecret('x') })).toThrow(/clientId/)
    expect(() => createTokenProvider({ clientId, credential: clientSecret('') })).toThrow(TokenError)
    expect(() =>
      createTokenProvider({ clientId, credential: clientSecret('x'), tenantId: 'common' }),
    ).toThrow(/names no tenant/)
  })

  it('caches each resource of a tenant under its own key', async () => {
    const { provider } = make()
    for (let i = 0; i < 3; i++)
      await provider.getToken({ tenantId: t1, resource: `https://org${i}.crm.dynamics.com` })
    expect(provider.stats()).toMatchObject({ size: 3, requests: 3 })
  })

  it('honours refresh_in from Entra ID (MSAL’s refreshOn) for the background refresh', async () => {
    const entra = fakeEntra({ clientId, secret, consented: [t1], refreshInSeconds: 600 })
    let offset = 0
    const provider = createTokenProvider({
      clientId,
      credential: clientSecret(secret),
      networkClient: entra.module,
      now: () => Date.now() + offset,
    })
    const first = await provider.getToken({ tenantId: t1, resource: org })
    offset = 590_000
    await provider.getToken({ tenantId: t1, resource: org })
    expect(entra.tokenRequests()).toBe(1)
    offset = 605_000
    expect((await provider.getToken({ tenantId: t1, resource: org })).token).toBe(first.token)
    expect(provider.stats().refreshes).toBe(1)
    for (let i = 0; i < 500 && entra.tokenRequests() < 2; i++) await new Promise((r) => setTimeout(r, 10))
    expect(entra.tokenRequests()).toBe(2)
  })

  it('shares tokens between instances through a second-level cache', async () => {
    const entra = fakeEntra({ clientId, secret, consented: [t1] })
    const store = createMemoryTokenStore()
    const make = () =>
      createTokenProvider({
        clientId,
        credential: clientSecret(secret),
        networkClient: entra.module,
        cache: { store },
      })
    const a = await make().getToken({ tenantId: t1, resource: org })
    const b = await make().getToken({ tenantId: t1, resource: org })
    expect(b.token).toBe(a.token)
    expect(entra.tokenRequests()).toBe(1)
    expect(store.size).toBe(1)
  })
})
