import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { makeSigningKey, type SigningKey, startJwksServer } from '../test/helpers/jwks-server.ts'
import { VerificationError } from './errors.ts'
import { createUserTokenVerifier, type UserTokenVerifierOptions } from './verifier.ts'

const tenant = 'aaaaaaaa-0000-0000-0000-000000000001'
const audience = 'api://my-api'
const T0 = Date.UTC(2026, 0, 1)

let key: SigningKey
let other: SigningKey
let rotated: SigningKey
let jwks: Awaited<ReturnType<typeof startJwksServer>>
beforeAll(async () => {
  key = await makeSigningKey('k1')
  other = await makeSigningKey('k2')
  rotated = await makeSigningKey('k1') // the issuer replaced k1's key, keeping the kid
  jwks = await startJwksServer([key])
})
afterAll(() => jwks.close())

const sign = (k: SigningKey, lifetimeSeconds = 3600) =>
  new SignJWT({
    iss: `https://login.microsoftonline.com/${tenant}/v2.0`,
    aud: audience,
    tid: tenant,
    oid: 'user-oid',
    scp: 'access_as_user',
    ver: '2.0',
  })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid })
    .setIssuedAt(T0 / 1000)
    .setExpirationTime(T0 / 1000 + lifetimeSeconds)
    .sign(k.privateKey)

function setup(extra: Partial<UserTokenVerifierOptions> = {}) {
  const clock = { now: T0 }
  const allowed = new Set([tenant])
  const verifier = createUserTokenVerifier({
    audience,
    isTenantAllowed: (t) => allowed.has(t),
    jwksUri: jwks.url,
    jwksCooldownMs: 0,
    now: () => clock.now,
    ...extra,
  })
  return { verifier, clock, allowed }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'accepted'
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError)
    return (e as VerificationError).code
  }
}

describe('verified signatures are remembered', () => {
  it('checks the signature of a token once, not on every request', async () => {
    const { verifier } = setup()
    const token = await sign(key)
    const spy = vi.spyOn(crypto.subtle, 'verify')
    try {
      await verifier.verify(token)
      await verifier.verify(token)
      await verifier.verify(`Bearer ${token}`)
      expect(spy).toHaveBeenCalledTimes(1)
    } finally {
      spy.mockRestore()
    }
  })

  it('checks every signature when signatureCacheSize is 0', async () => {
    const { verifier } = setup({ signatureCacheSize: 0 })
    const token = await sign(key)
    const spy = vi.spyOn(crypto.subtle, 'verify')
    try {
      await verifier.verify(token)
      await verifier.verify(token)
      expect(spy).toHaveBeenCalledTimes(2)
    } finally {
      spy.mockRestore()
    }
  })

  it('still refuses a remembered token once it expires', async () => {
    const { verifier, clock } = setup({ clockSkewSeconds: 0 })
    const token = await sign(key, 120)
    expect(await code(verifier.verify(token))).toBe('accepted')
    clock.now = T0 + 121_000
    expect(await code(verifier.verify(token))).toBe('TOKEN_EXPIRED')
  })

  it('checks the signature again after 5 minutes', async () => {
    const { verifier, clock } = setup()
    const token = await sign(key)
    await verifier.verify(token)
    clock.now = T0 + 5 * 60_000
    const spy = vi.spyOn(crypto.subtle, 'verify')
    try {
      await verifier.verify(token)
      expect(spy).toHaveBeenCalledTimes(1)
    } finally {
      spy.mockRestore()
    }
  })

  it('still asks the tenant allow-list for a remembered token (an offboarded tenant is refused at once)', async () => {
    const { verifier, allowed } = setup()
    const token = await sign(key)
    expect(await code(verifier.verify(token))).toBe('accepted')
    allowed.delete(tenant)
    expect(await code(verifier.verify(token))).toBe('TENANT_NOT_ALLOWED')
  })

  it('forgets tokens signed by a key the issuer stopped publishing', async () => {
    const { verifier, clock } = setup({ jwksMaxAgeMs: 60_000 })
    const token = await sign(key)
    expect(await code(verifier.verify(token))).toBe('accepted')
    jwks.setKeys([rotated])
    try {
      clock.now = T0 + 61_000 // the JWKS is refetched: kid k1 now names another key
      expect(await code(verifier.verify(token))).toBe('INVALID_SIGNATURE')
    } finally {
      jwks.setKeys([key])
    }
  })

  it('never remembers a forged token, and hands out claims nobody can change', async () => {
    const { verifier } = setup()
    const token = await sign(key)
    const [h, p] = token.split('.')
    const forged = `${h}.${p}.${(await sign(other)).split('.')[2]}`
    expect(await code(verifier.verify(forged))).toBe('INVALID_SIGNATURE')
    expect(await code(verifier.verify(forged))).toBe('INVALID_SIGNATURE')
    const user = await verifier.verify(token)
    expect(() => {
      ;(user.claims as { tid: string }).tid = 'bbbbbbbb-0000-0000-0000-000000000002'
    }).toThrow(TypeError)
    expect((await verifier.verify(token)).tenantId).toBe(tenant)
  })

  it('refuses a cache size that is not a whole number', () => {
    expect(() => setup({ signatureCacheSize: -1 })).toThrow(/signatureCacheSize/)
  })
})

describe('a cold verifier', () => {
  it('serves every request that arrives while the signing keys are being fetched', async () => {
    const { verifier } = setup({ jwksCooldownMs: 30_000 })
    const token = await sign(key)
    const fetchesBefore = jwks.fetches()
    const results = await Promise.all(Array.from({ length: 20 }, () => code(verifier.verify(token))))
    expect(results).toEqual(Array(20).fill('accepted'))
    expect(jwks.fetches() - fetchesBefore).toBe(1)
  })
})
