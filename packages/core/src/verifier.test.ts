import { createHmac, createPublicKey } from 'node:crypto'
import { type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeSigningKey, type SigningKey, startJwksServer } from '../test/helpers/jwks-server.ts'
import { VerificationError } from './errors.ts'
import { createUserTokenVerifier, type UserTokenVerifierOptions } from './verifier.ts'

const tenantA = 'aaaaaaaa-0000-0000-0000-000000000001'
const tenantB = 'bbbbbbbb-0000-0000-0000-000000000002'
const audience = 'api://my-api'
const host = 'https://login.microsoftonline.com'

let key: SigningKey
let rogue: SigningKey
let jwks: Awaited<ReturnType<typeof startJwksServer>>

beforeAll(async () => {
  key = await makeSigningKey('k1')
  rogue = await makeSigningKey('k1') // same kid, another key: a forgery
  jwks = await startJwksServer([key])
})
afterAll(() => jwks.close())

function sign(k: SigningKey, claims: JWTPayload, opts: { exp?: number | string; nbf?: number } = {}) {
  const tid = (claims['tid'] as string | undefined) ?? tenantA
  const jwt = new SignJWT({
    iss: `${host}/${tid}/v2.0`,
    aud: audience,
    tid,
    oid: 'user-oid',
    name: 'Ada',
    scp: 'access_as_user other',
    ver: '2.0',
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '1h')
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf)
  return jwt.sign(k.privateKey)
}

function verifier(extra: Partial<UserTokenVerifierOptions> = {}) {
  return createUserTokenVerifier({
    audience,
    isTenantAllowed: (t) => t === tenantA,
    requiredScopes: ['access_as_user'],
    jwksUri: jwks.url,
    ...extra,
  })
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'accepted'
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError)
    return (e as VerificationError).code
  }
}

describe('createUserTokenVerifier', () => {
  it('accepts a good token and returns the user', async () => {
    const user = await verifier().verify(`Bearer ${await sign(key, {})}`)
    expect(user).toMatchObject({
      tenantId: tenantA,
      objectId: 'user-oid',
      name: 'Ada',
      scopes: ['access_as_user', 'other'],
      roles: [],
    })
  })

  it('rejects a forged signature (same kid, other key)', async () => {
    expect(await code(verifier().verify(await sign(rogue, {})))).toBe('INVALID_SIGNATURE')
  })

  it('rejects an expired token, allowing a small skew', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect(await code(verifier().verify(await sign(key, {}, { exp: now - 120 })))).toBe('TOKEN_EXPIRED')
    expect(await code(verifier().verify(await sign(key, {}, { exp: now - 30 })))).toBe('accepted')
    expect(await code(verifier().verify(await sign(key, {}, { nbf: now + 600 })))).toBe('TOKEN_NOT_YET_VALID')
  })

  it('rejects a token of a tenant not on the allow-list', async () => {
    expect(await code(verifier().verify(await sign(key, { tid: tenantB })))).toBe('TENANT_NOT_ALLOWED')
  })

  it('checks the issuer against the token’s own tid (multi-tenant issuer trap)', async () => {
    // issued for tenant B but claiming tid A
    expect(
      await code(verifier().verify(await sign(key, { tid: tenantA, iss: `${host}/${tenantB}/v2.0` }))),
    ).toBe('INVALID_ISSUER')
    expect(await code(verifier().verify(await sign(key, { iss: `${host}/{tenantid}/v2.0` })))).toBe(
      'INVALID_ISSUER',
    )
    expect(
      await code(verifier().verify(await sign(key, { iss: `https://sts.windows.net/${tenantA}/` }))),
    ).toBe('INVALID_ISSUER')
    expect(await code(verifier().verify(await sign(key, { tid: 'common' })))).toBe('INVALID_ISSUER')
  })

  it('rejects a wrong audience', async () => {
    expect(await code(verifier().verify(await sign(key, { aud: 'api://someone-else' })))).toBe(
      'INVALID_AUDIENCE',
    )
  })

  it('rejects alg none', async () => {
    const payload = {
      iss: `${host}/${tenantA}/v2.0`,
      aud: audience,
      tid: tenantA,
      oid: 'x',
      scp: 'access_as_user',
      exp: 9e9,
    }
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(payload)}.`
    expect(await code(verifier().verify(token))).toBe('UNSUPPORTED_ALGORITHM')
  })

  it('rejects HS256 signed with the public key', async () => {
    const pem = createPublicKey({ key: key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString()
    const payload = {
      iss: `${host}/${tenantA}/v2.0`,
      aud: audience,
      tid: tenantA,
      oid: 'x',
      scp: 'access_as_user',
      exp: 9e9,
    }
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(payload)}`
    const token = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
    expect(await code(verifier().verify(token))).toBe('UNSUPPORTED_ALGORITHM')
  })

  it('requires the scopes, or the roles', async () => {
    expect(await code(verifier().verify(await sign(key, { scp: 'other' })))).toBe('INSUFFICIENT_SCOPE')
    const v = verifier({ requiredRoles: ['Jobs.Run'] })
    expect(await code(v.verify(await sign(key, { scp: undefined, roles: ['Jobs.Run'] })))).toBe('accepted')
  })

  it('refetches the JWKS on an unknown kid, rate-limited', async () => {
    const limited = verifier({ jwksCooldownMs: 60_000 })
    const eager = verifier({ jwksCooldownMs: 0 })
    await limited.verify(await sign(key, {}))
    await eager.verify(await sign(key, {}))
    const rotated = await makeSigningKey('k2')
    jwks.setKeys([key, rotated])
    const before = jwks.fetches()
    // a key rollover: the unknown kid triggers one refetch and the token is accepted
    expect(await code(eager.verify(await sign(rotated, {})))).toBe('accepted')
    expect(jwks.fetches()).toBe(before + 1)
    // within the cooldown, unknown kids are refused without hammering the endpoint
    for (let i = 0; i < 20; i++)
      expect(await code(limited.verify(await sign(rotated, {})))).toBe('UNKNOWN_KEY')
    expect(jwks.fetches()).toBe(before + 1)
    jwks.setKeys([key])
  })

  it('rejects garbage', async () => {
    expect(await code(verifier().verify('not a token'))).toBe('MALFORMED_TOKEN')
    expect(await code(verifier().verify(''))).toBe('MALFORMED_TOKEN')
  })

  it('reports an unreachable JWKS', async () => {
    const v = verifier({ jwksUri: 'http://127.0.0.1:1/keys' })
    expect(await code(v.verify(await sign(key, {})))).toBe('JWKS_UNAVAILABLE')
  })
})
