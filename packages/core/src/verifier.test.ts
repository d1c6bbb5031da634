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
    const v = verifier({ requiredRoles: ['Jobs.Run'], tokenTypes: ['user', 'app'] })
    const appToken = await sign(key, { scp: undefined, azpacr: '1', roles: ['Jobs.Run'] })
    expect(await code(v.verify(appToken))).toBe('accepted')
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

describe('access-token versions (v1.0 and v2.0)', () => {
  const sts = 'https://sts.windows.net'
  // A v1.0 token as Entra issues it for an API whose manifest leaves requestedAccessTokenVersion null or 1.
  const v1 = (extra: JWTPayload = {}) => {
    const tid = (extra['tid'] as string | undefined) ?? tenantA
    return sign(key, {
      iss: `${sts}/${tid}/`,
      aud: audience,
      tid,
      appid: 'client-app-id',
      appidacr: '0',
      azp: undefined,
      upn: 'ada@contoso.example',
      unique_name: 'ada@contoso.example',
      ver: '1.0',
      ...extra,
    })
  }
  const both = (extra: Partial<UserTokenVerifierOptions> = {}) =>
    verifier({ tokenVersions: ['1.0', '2.0'], ...extra })
  async function error(p: Promise<unknown>): Promise<VerificationError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(e).toBeInstanceOf(VerificationError)
    return e as VerificationError
  }

  it('refuses a v1.0 token by default, saying to set requestedAccessTokenVersion to 2 or accept v1.0', async () => {
    const e = await error(verifier().verify(await v1()))
    expect(e.code).toBe('UNSUPPORTED_TOKEN_VERSION')
    expect(e.message).toContain('"requestedAccessTokenVersion": 2')
    expect(e.message).toContain("tokenVersions: ['1.0', '2.0']")
  })

  it('accepts a v1.0 token when v1.0 is accepted, with the same user fields as a v2.0 token', async () => {
    const one = await both().verify(await v1())
    const two = await both().verify(
      await sign(key, { azp: 'client-app-id', preferred_username: 'ada@contoso.example' }),
    )
    for (const [user, ver] of [
      [one, '1.0'],
      [two, '2.0'],
    ] as const) {
      expect(user).toMatchObject({
        tenantId: tenantA,
        objectId: 'user-oid',
        name: 'Ada',
        username: 'ada@contoso.example',
        clientId: 'client-app-id',
        tokenVersion: ver,
        scopes: ['access_as_user', 'other'],
        roles: [],
      })
    }
    // unique_name stands in when a v1.0 token has no upn (guests, some account types)
    expect(
      (await both().verify(await v1({ upn: undefined, unique_name: 'live.com#ada@x.example' }))).username,
    ).toBe('live.com#ada@x.example')
  })

  it('accepts only v1.0 when asked, refusing v2.0 with the fix', async () => {
    const only1 = verifier({ tokenVersions: ['1.0'] })
    expect(await code(only1.verify(await v1()))).toBe('accepted')
    const e = await error(only1.verify(await sign(key, {})))
    expect(e.code).toBe('UNSUPPORTED_TOKEN_VERSION')
    expect(e.message).toContain("add '2.0' to tokenVersions")
  })

  it('refuses a token whose issuer form does not match its ver, or names another tenant', async () => {
    // v1.0 claims with a v2.0 issuer, and the reverse
    expect(await code(both().verify(await v1({ iss: `${host}/${tenantA}/v2.0` })))).toBe('INVALID_ISSUER')
    expect(await code(both().verify(await sign(key, { iss: `${sts}/${tenantA}/` })))).toBe('INVALID_ISSUER')
    // v1.0 issuer of tenant B while claiming tid A (the multi-tenant issuer trap, v1.0 form)
    expect(await code(both().verify(await v1({ iss: `${sts}/${tenantB}/` })))).toBe('INVALID_ISSUER')
    // the login host is not the v1.0 issuer host, and the template is never a valid issuer
    expect(await code(both().verify(await v1({ iss: `${host}/${tenantA}/` })))).toBe('INVALID_ISSUER')
    expect(await code(both().verify(await v1({ iss: `${sts}/{tenantid}/` })))).toBe('INVALID_ISSUER')
    expect(await code(both().verify(await v1({ iss: `${sts}/${tenantA}` })))).toBe('INVALID_ISSUER')
  })

  it('refuses tokens without a version it knows, and checks the signature before the version', async () => {
    expect(await code(both().verify(await sign(key, { ver: undefined })))).toBe('MALFORMED_TOKEN')
    expect(await code(both().verify(await sign(key, { ver: '3.0' })))).toBe('MALFORMED_TOKEN')
    // a forged v1.0 token is a forgery first: its claims are not read for advice
    const forged = await sign(rogue, { iss: `${sts}/${tenantA}/`, ver: '1.0' })
    expect(await code(verifier().verify(forged))).toBe('INVALID_SIGNATURE')
  })

  it('refuses a v1.0 token for the App ID URI when only the client id is the audience, saying why', async () => {
    const v = both({ audience: 'client-id-of-my-api' })
    const e = await error(v.verify(await v1({ aud: 'api://my-api' })))
    expect(e.code).toBe('INVALID_AUDIENCE')
    expect(e.message).toContain('App ID URI')
    expect(await code(v.verify(await v1({ aud: 'client-id-of-my-api' })))).toBe('accepted')
  })

  it('uses the cloud’s v1.0 issuer host: sts.chinacloudapi.cn for China, a custom one for a custom cloud', async () => {
    const china = both({ cloud: 'china' })
    expect(await code(china.verify(await v1({ iss: `https://sts.chinacloudapi.cn/${tenantA}/` })))).toBe(
      'accepted',
    )
    expect(await code(china.verify(await v1()))).toBe('INVALID_ISSUER')
    expect(
      await code(china.verify(await sign(key, { iss: `https://login.chinacloudapi.cn/${tenantA}/v2.0` }))),
    ).toBe('accepted')
    const custom = both({
      cloud: { name: 'mine', authorityHost: 'https://login.example', v1IssuerHost: 'https://sts.example' },
    })
    expect(await code(custom.verify(await v1({ iss: `https://sts.example/${tenantA}/` })))).toBe('accepted')
    expect(await code(custom.verify(await v1({ iss: `https://login.example/${tenantA}/` })))).toBe(
      'INVALID_ISSUER',
    )
    // without v1IssuerHost a custom cloud issues v1.0 tokens from its login host (as the emulator does)
    const plain = both({ cloud: { name: 'plain', authorityHost: 'https://login.example' } })
    expect(await code(plain.verify(await v1({ iss: `https://login.example/${tenantA}/` })))).toBe('accepted')
  })

  // Entra's JWKS publishes an `issuer` per key (entra-docs access-tokens.md, "Validate the signing key issuer").
  const withIssuer = (k: SigningKey, issuer: string): SigningKey => ({
    ...k,
    publicJwk: Object.assign({}, k.publicJwk, { issuer }),
  })

  it('scopes keys by their published issuer for v1.0 tokens too', async () => {
    const scoped = await makeSigningKey('scoped')
    const templated = await makeSigningKey('templated')
    const server = await startJwksServer([
      withIssuer(scoped, `${host}/${tenantB}/v2.0`),
      withIssuer(templated, `${host}/{tenantid}/v2.0`),
    ])
    try {
      const v = both({ jwksUri: server.url, isTenantAllowed: () => true })
      const claims = (tid: string) => ({ iss: `${sts}/${tid}/`, tid, ver: '1.0' })
      // a key published for tenant B only signs tenant B's tokens, in either version
      expect(await code(v.verify(await sign(scoped, claims(tenantB))))).toBe('accepted')
      expect(await code(v.verify(await sign(scoped, claims(tenantA))))).toBe('INVALID_ISSUER')
      expect(await code(v.verify(await sign(templated, claims(tenantA))))).toBe('accepted')
    } finally {
      await server.close()
    }
  })

  it('refuses tokenVersions that name no known version', () => {
    for (const tokenVersions of [[], ['1'], ['2.0', 'v3']] as never[])
      expect(() => verifier({ tokenVersions })).toThrow(VerificationError)
  })
})

/** A token with exactly these claims (no defaults for the time claims), signed with the trusted key. */
function raw(claims: JWTPayload) {
  return new SignJWT({
    iss: `${host}/${tenantA}/v2.0`,
    aud: audience,
    tid: tenantA,
    oid: 'user-oid',
    scp: 'access_as_user',
    ver: '2.0',
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey)
}

describe('createUserTokenVerifier: time claims', () => {
  const nowS = () => Math.floor(Date.now() / 1000)

  it('refuses a token without exp', async () => {
    const token = await raw({ iat: nowS(), nbf: nowS() })
    expect(await code(verifier().verify(token))).toBe('MALFORMED_TOKEN')
    await expect(verifier().verify(token)).rejects.toThrow(/no exp claim/)
  })

  it('refuses a token whose iat is beyond the clock skew in the future, and accepts one within it', async () => {
    const ahead = await raw({ iat: nowS() + 10 * 365 * 86_400, exp: nowS() + 11 * 365 * 86_400 })
    expect(await code(verifier().verify(ahead))).toBe('TOKEN_NOT_YET_VALID')
    await expect(verifier().verify(ahead)).rejects.toThrow(/issued in the future/)
    const slightly = await raw({ iat: nowS() + 30, exp: nowS() + 3600 })
    expect(await code(verifier().verify(slightly))).toBe('accepted')
    expect(await code(verifier({ clockSkewSeconds: 5 }).verify(slightly))).toBe('TOKEN_NOT_YET_VALID')
  })

  it('refuses a token whose nbf is beyond the clock skew in the future', async () => {
    const token = await raw({ iat: nowS(), nbf: nowS() + 600, exp: nowS() + 3600 })
    expect(await code(verifier().verify(token))).toBe('TOKEN_NOT_YET_VALID')
  })

  it('refuses iat and nbf that are not numbers', async () => {
    expect(
      await code(verifier().verify(await raw({ iat: 'soon' as unknown as number, exp: nowS() + 60 }))),
    ).toBe('MALFORMED_TOKEN')
  })

  it('refuses a token older than maxTokenAgeSeconds, and one without iat when a maximum age is set', async () => {
    const old = await raw({ iat: nowS() - 7200, exp: nowS() + 3600 })
    expect(await code(verifier().verify(old))).toBe('accepted')
    expect(await code(verifier({ maxTokenAgeSeconds: 3600 }).verify(old))).toBe('TOKEN_TOO_OLD')
    expect(await code(verifier({ maxTokenAgeSeconds: 3 * 3600 }).verify(old))).toBe('accepted')
    const noIat = await raw({ exp: nowS() + 3600 })
    expect(await code(verifier().verify(noIat))).toBe('accepted')
    expect(await code(verifier({ maxTokenAgeSeconds: 3600 }).verify(noIat))).toBe('MALFORMED_TOKEN')
    expect(() => verifier({ maxTokenAgeSeconds: 0 })).toThrow(/maxTokenAgeSeconds/)
  })
})

describe('createUserTokenVerifier: user tokens only, unless told otherwise', () => {
  const exp = () => Math.floor(Date.now() / 1000) + 3600

  it('refuses an app-only token (idtyp app) by default, even with the required scope', async () => {
    const token = await raw({ exp: exp(), idtyp: 'app' })
    expect(await code(verifier().verify(token))).toBe('WRONG_TOKEN_TYPE')
    await expect(verifier().verify(token)).rejects.toThrow(/app-only/)
  })

  it('refuses a token without scp by default, even with the required role', async () => {
    const token = await raw({ exp: exp(), scp: undefined, azpacr: '1', roles: ['Jobs.Run'] })
    expect(await code(verifier({ requiredRoles: ['Jobs.Run'] }).verify(token))).toBe('WRONG_TOKEN_TYPE')
    const apps = verifier({ requiredRoles: ['Jobs.Run'], tokenTypes: ['app'] })
    expect(await apps.verify(token)).toMatchObject({ tokenType: 'app', roles: ['Jobs.Run'] })
    expect(await code(apps.verify(await raw({ exp: exp() })))).toBe('WRONG_TOKEN_TYPE')
  })

  it('tells an ID token (no scp, no azpacr/appidacr) from an access token, and accepts it only when asked', async () => {
    const id = await raw({ exp: exp(), scp: undefined, nonce: 'n' })
    expect(await code(verifier().verify(id))).toBe('WRONG_TOKEN_TYPE')
    await expect(verifier().verify(id)).rejects.toThrow(/an ID token/)
    expect(await code(verifier({ requiredRoles: ['X'], tokenTypes: ['app'] }).verify(id))).toBe(
      'WRONG_TOKEN_TYPE',
    )
    const ids = verifier({ requiredScopes: [], tokenTypes: ['id'] })
    expect(await ids.verify(id)).toMatchObject({ tokenType: 'id' })
    expect(await code(ids.verify(await raw({ exp: exp() })))).toBe('WRONG_TOKEN_TYPE')
  })

  it('accepts a user token with idtyp user or without idtyp, and refuses an unknown idtyp', async () => {
    expect(await verifier().verify(await raw({ exp: exp(), idtyp: 'user' }))).toMatchObject({
      tokenType: 'user',
    })
    expect(await verifier().verify(await raw({ exp: exp() }))).toMatchObject({ tokenType: 'user' })
    expect(await code(verifier().verify(await raw({ exp: exp(), idtyp: 'device' })))).toBe('MALFORMED_TOKEN')
    expect(() => verifier({ tokenTypes: [] })).toThrow(/tokenTypes/)
  })
})

describe('createUserTokenVerifier: required scopes match exactly and all of them', () => {
  const exp = () => Math.floor(Date.now() / 1000) + 3600

  it('needs every required scope, not just one of them', async () => {
    const v = verifier({ requiredScopes: ['access_as_user', 'Records.Write'] })
    expect(await code(v.verify(await raw({ exp: exp(), scp: 'access_as_user' })))).toBe('INSUFFICIENT_SCOPE')
    expect(await code(v.verify(await raw({ exp: exp(), scp: 'Records.Write access_as_user' })))).toBe(
      'accepted',
    )
  })

  it('does not take a longer scope that contains the required one (access_as_user_admin) for it', async () => {
    for (const scp of ['access_as_user_admin', 'xaccess_as_user', 'access_as_user,other', 'ACCESS_AS_USER']) {
      expect(await code(verifier().verify(await raw({ exp: exp(), scp }))), scp).toBe('INSUFFICIENT_SCOPE')
    }
  })

  it('needs every required role, not just one of them', async () => {
    const v = verifier({ requiredScopes: [], requiredRoles: ['A', 'B'] })
    expect(await code(v.verify(await raw({ exp: exp(), roles: ['A'] })))).toBe('INSUFFICIENT_SCOPE')
    expect(await code(v.verify(await raw({ exp: exp(), roles: ['AB'] })))).toBe('INSUFFICIENT_SCOPE')
    expect(await code(v.verify(await raw({ exp: exp(), roles: ['B', 'A'] })))).toBe('accepted')
  })
})

describe('createUserTokenVerifier: several audiences (OpenID Connect Core §3.1.3.7)', () => {
  const exp = () => Math.floor(Date.now() / 1000) + 3600

  it('refuses a token for this API and another audience when azp is another client', async () => {
    const token = await raw({ exp: exp(), aud: [audience, 'api://other'], azp: 'other-client' })
    expect(await code(verifier().verify(token))).toBe('INVALID_AUDIENCE')
    await expect(verifier().verify(token)).rejects.toThrow(/several audiences/)
    expect(await code(verifier().verify(await raw({ exp: exp(), aud: [audience, 'x'] })))).toBe(
      'INVALID_AUDIENCE',
    )
  })

  it('accepts a multi-audience token whose azp is this API, and a single audience whatever its azp', async () => {
    const mine = await raw({ exp: exp(), aud: ['x', audience], azp: audience })
    expect(await code(verifier().verify(mine))).toBe('accepted')
    expect(await code(verifier().verify(await raw({ exp: exp(), azp: 'spa-client' })))).toBe('accepted')
    expect(await code(verifier().verify(await raw({ exp: exp(), aud: [audience], azp: 'spa' })))).toBe(
      'accepted',
    )
  })
})
