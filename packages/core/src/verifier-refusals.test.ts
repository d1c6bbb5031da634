// Every way the verifier refuses a token or its options, with the code a caller branches on and the message a
// developer reads (what was wrong, what to do); the JWKS fetch (which keys count, failures, cooldown, max age);
// and the fields of the verified user. Each verifier is built inside its test, with an injected clock.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CompactSign, type JWK, type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { makeSigningKey, type SigningKey } from '../test/helpers/jwks-server.ts'
import { VerificationError } from './errors.ts'
import { createUserTokenVerifier, type UserTokenVerifierOptions } from './verifier.ts'

const tenant = 'aaaaaaaa-0000-0000-0000-000000000001'
const audience = 'api://my-api'
const host = 'https://login.microsoftonline.com'
const T0 = Date.UTC(2026, 0, 1)
const S0 = T0 / 1000

let key: SigningKey
let k2: SigningKey

/** A JWKS endpoint whose answer (status and key list) each test sets, recording every request. */
let server: Server
let url: string
const jwks = {
  status: 200,
  keys: [] as unknown[],
  requests: [] as { method: string | undefined; headers: IncomingHttpHeaders }[],
  reset(keys: unknown[]) {
    this.status = 200
    this.keys = keys
    this.requests = []
  },
}

beforeAll(async () => {
  key = await makeSigningKey('k1')
  k2 = await makeSigningKey('k2')
  server = createServer((req, res) => {
    jwks.requests.push({ method: req.method, headers: req.headers })
    res.statusCode = jwks.status
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: jwks.keys }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

function setup(extra: Partial<UserTokenVerifierOptions> = {}, keys: unknown[] = [key.publicJwk]) {
  jwks.reset(keys)
  const clock = { now: T0 }
  const verifier = createUserTokenVerifier({
    audience,
    isTenantAllowed: (t) => t === tenant,
    jwksUri: url,
    now: () => clock.now,
    ...extra,
  })
  return { verifier, clock }
}

function sign(claims: JWTPayload = {}, k: SigningKey = key, header: Record<string, unknown> = {}) {
  const tid = typeof claims['tid'] === 'string' ? claims['tid'] : tenant
  return new SignJWT({
    iss: `${host}/${tid}/v2.0`,
    aud: audience,
    tid,
    oid: 'user-oid',
    scp: 'access_as_user',
    ver: '2.0',
    iat: S0,
    exp: S0 + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid, ...header })
    .sign(k.privateKey)
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

async function refusal(p: Promise<unknown>): Promise<VerificationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(VerificationError)
  return e as VerificationError
}

function optionsRefusal(options: Partial<UserTokenVerifierOptions>): VerificationError {
  try {
    createUserTokenVerifier({ audience, isTenantAllowed: () => true, ...options } as UserTokenVerifierOptions)
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError)
    return e as VerificationError
  }
  throw new Error('the options were accepted')
}

describe('createUserTokenVerifier refuses wrong options, saying which and what to pass', () => {
  it.each([
    ['an empty audience', { audience: '' }, /audience is required: your API’s client id or App ID URI/],
    ['no audience at all', { audience: undefined }, /audience is required/],
    ['an empty audience list', { audience: [] }, /audience is required/],
    ['an empty string among the audiences', { audience: [audience, ''] }, /audience is required/],
    ['a non-string audience', { audience: [audience, 42] }, /audience is required/],
    ['no allow-list', { isTenantAllowed: undefined }, /isTenantAllowed is required: decide which tenants/],
    [
      'an unknown token version',
      { tokenVersions: ['2.0', '3.0'] },
      /tokenVersions must list '1\.0' and\/or '2\.0'/,
    ],
    ['no token version', { tokenVersions: [] }, /tokenVersions must list/],
    [
      'an unknown token type',
      { tokenTypes: ['user', 'robot'] },
      /tokenTypes must list 'user', 'app' and\/or 'id'/,
    ],
    ['no token type', { tokenTypes: [] }, /tokenTypes must list/],
    [
      'a zero maximum age',
      { maxTokenAgeSeconds: 0 },
      /maxTokenAgeSeconds must be a positive number of seconds/,
    ],
    [
      'an infinite maximum age',
      { maxTokenAgeSeconds: Number.POSITIVE_INFINITY },
      /maxTokenAgeSeconds must be/,
    ],
    [
      'a negative signature cache',
      { signatureCacheSize: -1 },
      /signatureCacheSize must be a whole number, 0 or more/,
    ],
    [
      'a fractional signature cache',
      { signatureCacheSize: 1.5 },
      /signatureCacheSize must be a whole number/,
    ],
  ])('refuses %s', (_what, options, message) => {
    const e = optionsRefusal(options as Partial<UserTokenVerifierOptions>)
    expect(e.code).toBe('INVALID_OPTIONS')
    expect(e.message).toMatch(message)
  })

  it('refuses an unknown cloud with the cloud’s own explanation, keeping it as the cause', () => {
    const e = optionsRefusal({ cloud: 'mars' as never })
    expect(e.code).toBe('INVALID_OPTIONS')
    expect(e.message).toMatch(/mars/)
    expect(e.cause).toBeInstanceOf(Error)
    expect(e.message).toBe((e.cause as Error).message)
  })

  it('accepts an audience list and a single audience string', async () => {
    for (const aud of [audience, ['other-client', audience]]) {
      const { verifier } = setup({ audience: aud })
      expect((await verifier.verify(await sign())).objectId).toBe('user-oid')
    }
  })
})

describe('the token text', () => {
  it('takes the token with or without a Bearer prefix, in any case, with surrounding spaces', async () => {
    const { verifier } = setup()
    const token = await sign()
    for (const input of [
      token,
      `Bearer ${token}`,
      `bearer   ${token}`,
      `BEARER\t${token} `,
      `  ${token}\n`,
    ]) {
      expect((await verifier.verify(input)).tenantId).toBe(tenant)
    }
  })

  it('refuses something that is not a string or not a JWT as MALFORMED_TOKEN, keeping the cause', async () => {
    const { verifier } = setup()
    for (const input of [undefined, 42, '', 'Bearer', 'not-a-jwt']) {
      const e = await refusal(verifier.verify(input as string))
      expect(e.code).toBe('MALFORMED_TOKEN')
      expect(e.message).toBe('The token is not a JWT')
      expect(e.cause).toBeDefined()
    }
  })
})

describe('the token header', () => {
  it('refuses an algorithm other than RS256 by name, cut to 16 characters', async () => {
    const { verifier } = setup()
    const hs = await refusal(verifier.verify(`${b64({ alg: 'HS256', kid: 'k1' })}.${b64({})}.c2ln`))
    expect(hs.code).toBe('UNSUPPORTED_ALGORITHM')
    expect(hs.message).toBe('Tokens signed with HS256 are refused; Entra ID signs with RS256')
    const long = await refusal(verifier.verify(`${b64({ alg: 'X'.repeat(40), kid: 'k1' })}.${b64({})}.c2ln`))
    expect(long.message).toContain(`with ${'X'.repeat(16)} are refused`)
    expect(long.message).not.toContain('X'.repeat(17))
  })

  it('refuses a header without a kid, with an empty one, or a kid that is not a string', async () => {
    const { verifier } = setup()
    for (const kid of [undefined, '', 5]) {
      const e = await refusal(verifier.verify(`${b64({ alg: 'RS256', kid })}.${b64({})}.c2ln`))
      expect(e.code).toBe('MALFORMED_TOKEN')
      expect(e.message).toBe('The token header has no kid')
    }
    expect(jwks.requests).toHaveLength(0)
  })

  it('refuses a kid the issuer does not publish, saying so', async () => {
    const { verifier } = setup()
    const e = await refusal(verifier.verify(await sign({}, k2)))
    expect(e.code).toBe('UNKNOWN_KEY')
    expect(e.message).toBe('The token is signed with a key this issuer does not publish')
  })
})

describe('the signature and the claims jose checks', () => {
  it('refuses a forged signature as INVALID_SIGNATURE, keeping the cause', async () => {
    const { verifier } = setup()
    const [h, p] = (await sign()).split('.')
    const forged = `${h}.${p}.${(await sign({}, k2, { kid: 'k1' })).split('.')[2]}`
    const e = await refusal(verifier.verify(forged))
    expect(e.code).toBe('INVALID_SIGNATURE')
    expect(e.message).toBe('The token’s signature is not valid')
    expect(e.cause).toBeDefined()
  })

  it('refuses an expired token as TOKEN_EXPIRED: get a new one', async () => {
    const { verifier } = setup({ clockSkewSeconds: 0 })
    const e = await refusal(verifier.verify(await sign({ exp: S0 - 1 })))
    expect(e.code).toBe('TOKEN_EXPIRED')
    expect(e.message).toBe('The token has expired: get a new one')
    expect(e.cause).toBeDefined()
  })

  it('refuses a token whose nbf lies beyond the skew as TOKEN_NOT_YET_VALID', async () => {
    const { verifier } = setup({ clockSkewSeconds: 60 })
    const e = await refusal(verifier.verify(await sign({ nbf: S0 + 61 })))
    expect(e.code).toBe('TOKEN_NOT_YET_VALID')
    expect(e.message).toBe('The token is not valid yet')
    expect(e.cause).toBeDefined()
  })

  it('refuses a time claim that is not a number, naming the claim', async () => {
    const { verifier } = setup()
    const e = await refusal(verifier.verify(await sign({ iat: 'yesterday' as never })))
    expect(e.code).toBe('MALFORMED_TOKEN')
    expect(e.message).toBe("The token's iat claim is invalid")
    expect(e.cause).toBeDefined()
  })

  it('refuses a signed payload that is not a claims set as MALFORMED_TOKEN', async () => {
    const { verifier } = setup()
    const token = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(key.privateKey)
    const e = await refusal(verifier.verify(token))
    expect(e.code).toBe('MALFORMED_TOKEN')
    expect(e.message).toBe('The token could not be verified')
    expect(e.cause).toBeDefined()
  })
})

describe('the time claims the verifier checks itself', () => {
  it('keeps checking nbf and iat against the clock for a remembered token (a clock set back)', async () => {
    const { verifier, clock } = setup({ clockSkewSeconds: 0 })
    const nbf = await sign({ nbf: S0 - 10, iat: S0 - 100 })
    const iat = await sign({ iat: S0 })
    await verifier.verify(nbf)
    await verifier.verify(iat)
    clock.now = T0 - 20_000
    const e1 = await refusal(verifier.verify(nbf))
    expect(e1.code).toBe('TOKEN_NOT_YET_VALID')
    expect(e1.message).toBe('The token is not valid yet: check the server’s clock')
    const e2 = await refusal(verifier.verify(iat))
    expect(e2.code).toBe('TOKEN_NOT_YET_VALID')
    expect(e2.message).toBe('The token claims to be issued in the future: check the server’s clock')
  })

  it('accepts a token exactly maxTokenAgeSeconds plus the skew old, and refuses one a second older', async () => {
    const { verifier } = setup({ maxTokenAgeSeconds: 300, clockSkewSeconds: 60 })
    expect((await verifier.verify(await sign({ iat: S0 - 360 }))).tenantId).toBe(tenant)
    const e = await refusal(verifier.verify(await sign({ iat: S0 - 361 })))
    expect(e.code).toBe('TOKEN_TOO_OLD')
    expect(e.message).toBe('The token was issued more than 300 s ago: sign in again')
  })

  it('refuses a token without iat when a maximum age is set, saying its age is unknown', async () => {
    const { verifier } = setup({ maxTokenAgeSeconds: 300 })
    const e = await refusal(verifier.verify(await sign({ iat: undefined as never })))
    expect(e.code).toBe('MALFORMED_TOKEN')
    expect(e.message).toBe('The token has no iat claim, so its age is unknown')
  })
})

describe('audience, version, issuer and tenant refusals say what to fix', () => {
  it('says only "another audience" for a v2.0 token, and how to list the App ID URI for a v1.0 one', async () => {
    const { verifier } = setup({ tokenVersions: ['1.0', '2.0'] })
    const v2 = await refusal(verifier.verify(await sign({ aud: 'someone-else' })))
    expect(v2.code).toBe('INVALID_AUDIENCE')
    expect(v2.message).toBe('The token was issued for another audience')
    const v1 = await refusal(
      verifier.verify(
        await sign({ aud: 'someone-else', ver: '1.0', iss: `https://sts.windows.net/${tenant}/` }),
      ),
    )
    expect(v1.message).toMatch(/list its App ID URI in audience/)
  })

  it('takes appid as the authorized party of a v1.0 token with several audiences', async () => {
    const { verifier } = setup({ tokenVersions: ['1.0', '2.0'], audience: [audience, 'client-id'] })
    const v1 = { ver: '1.0', iss: `https://sts.windows.net/${tenant}/`, aud: [audience, 'other'] }
    expect((await verifier.verify(await sign({ ...v1, appid: 'client-id' }))).clientId).toBe('client-id')
    const e = await refusal(verifier.verify(await sign({ ...v1, appid: 'someone-else' })))
    expect(e.code).toBe('INVALID_AUDIENCE')
    expect(e.message).toMatch(/authorized party \(azp\) is not this API/)
  })

  it('refuses a token without a known ver, saying it is not an Entra ID access token', async () => {
    const { verifier } = setup()
    const e = await refusal(verifier.verify(await sign({ ver: '3.0' })))
    expect(e.code).toBe('MALFORMED_TOKEN')
    expect(e.message).toBe('The token has no ver claim of 1.0 or 2.0: it is not an Entra ID access token')
  })

  it('names the accepted versions and the manifest fix when refusing a version', async () => {
    const v1Only = setup({ tokenVersions: ['1.0'] })
    const e2 = await refusal(v1Only.verifier.verify(await sign()))
    expect(e2.code).toBe('UNSUPPORTED_TOKEN_VERSION')
    expect(e2.message).toMatch(
      /^The token is a v2\.0 access token and this API accepts only v1\.0: your API app/,
    )
    const v2Only = setup()
    const e1 = await refusal(
      v2Only.verifier.verify(await sign({ ver: '1.0', iss: `https://sts.windows.net/${tenant}/` })),
    )
    expect(e1.message).toMatch(/accepts only v2\.0: set "requestedAccessTokenVersion": 2/)
    expect(e1.message).toMatch(/\("accessTokenAcceptedVersion": 2 in the old manifest; tokens issued after/)
    expect(e1.message).toMatch(/or accept v1\.0 tokens with tokenVersions/)
  })

  it('refuses a tid that is not exactly a GUID, or not a string', async () => {
    const { verifier } = setup({ isTenantAllowed: () => true })
    for (const tid of [`x${tenant}`, `${tenant}x`, 'not-a-guid']) {
      const e = await refusal(verifier.verify(await sign({ tid })))
      expect(e.code).toBe('INVALID_ISSUER')
      expect(e.message).toBe('The token carries no tenant GUID (tid)')
    }
    const e = await refusal(
      verifier.verify(await sign({ tid: [tenant] as never, iss: `${host}/${tenant}/v2.0` })),
    )
    expect(e.message).toBe('The token carries no tenant GUID (tid)')
  })

  it('says which issuer form a token of its version must carry', async () => {
    const { verifier } = setup()
    const e = await refusal(verifier.verify(await sign({ iss: `https://sts.windows.net/${tenant}/` })))
    expect(e.code).toBe('INVALID_ISSUER')
    expect(e.message).toBe(
      'The token’s issuer does not match its own tenant and version (a v2.0 token must be issued by https://login.microsoftonline.com/{tid}/v2.0)',
    )
  })

  it('accepts v1.0 and v2.0 tokens signed by a key published for {tenantid}, and refuses a key of another issuer', async () => {
    const scoped = { ...key.publicJwk, issuer: `${host}/{tenantid}/v2.0` }
    const { verifier } = setup({ tokenVersions: ['1.0', '2.0'] }, [scoped])
    expect((await verifier.verify(await sign())).tokenVersion).toBe('2.0')
    const v1 = await verifier.verify(await sign({ ver: '1.0', iss: `https://sts.windows.net/${tenant}/` }))
    expect(v1.tokenVersion).toBe('1.0')
    const other = setup({}, [
      { ...key.publicJwk, issuer: `${host}/bbbbbbbb-0000-0000-0000-000000000002/v2.0` },
    ])
    const e = await refusal(other.verifier.verify(await sign()))
    expect(e.code).toBe('INVALID_ISSUER')
    expect(e.message).toBe('The signing key is not valid for the token’s issuer')
  })

  it('accepts a v1.0 token signed by a key published with the v1.0 issuer form', async () => {
    const v1Key = { ...key.publicJwk, issuer: 'https://sts.windows.net/{tenantid}/' }
    const { verifier } = setup({ tokenVersions: ['1.0'] }, [v1Key])
    const user = await verifier.verify(await sign({ ver: '1.0', iss: `https://sts.windows.net/${tenant}/` }))
    expect(user.tokenVersion).toBe('1.0')
  })

  it('names the tenant that is not onboarded, in lower case', async () => {
    const { verifier } = setup({ isTenantAllowed: () => false })
    const e = await refusal(verifier.verify(await sign({ tid: tenant.toUpperCase() })))
    expect(e.code).toBe('TENANT_NOT_ALLOWED')
    expect(e.message).toBe(`Tenant ${tenant} is not onboarded: its users may not call this API`)
  })
})

describe('token types, scopes and roles', () => {
  it('names the kind of token that arrived and every kind accepted', async () => {
    const { verifier } = setup({ tokenTypes: ['user', 'id'] })
    const e = await refusal(verifier.verify(await sign({ scp: undefined, azpacr: '1' })))
    expect(e.code).toBe('WRONG_TOKEN_TYPE')
    expect(e.message).toBe(
      'The token is an app-only access token (no signed-in user, no scp), and this verifier accepts a user’s delegated access token or an ID token (not an access token)',
    )
  })

  it('takes a token without scp but with azpacr or appidacr for an app token, and one with neither for an ID token', async () => {
    const { verifier } = setup({ tokenTypes: ['app', 'id'] })
    expect((await verifier.verify(await sign({ scp: undefined, azpacr: '1' }))).tokenType).toBe('app')
    expect((await verifier.verify(await sign({ scp: undefined, appidacr: '1' }))).tokenType).toBe('app')
    expect((await verifier.verify(await sign({ scp: undefined }))).tokenType).toBe('id')
  })

  it('refuses an idtyp that is neither user nor app', async () => {
    const { verifier } = setup()
    const e = await refusal(verifier.verify(await sign({ idtyp: 'device' })))
    expect(e.code).toBe('MALFORMED_TOKEN')
    expect(e.message).toBe('The token’s idtyp claim is neither user nor app')
  })

  it('splits scp on any run of spaces and keeps only string roles', async () => {
    const { verifier } = setup({ tokenTypes: ['user'] })
    const user = await verifier.verify(await sign({ scp: ' a  b ', roles: ['r1', 5, null, 'r2'] }))
    expect(user.scopes).toEqual(['a', 'b'])
    expect(user.roles).toEqual(['r1', 'r2'])
  })

  it('lists the required scopes and roles it did not find', async () => {
    const both = setup({ requiredScopes: ['s1', 's2'], requiredRoles: ['r1'] })
    const e = await refusal(both.verifier.verify(await sign()))
    expect(e.code).toBe('INSUFFICIENT_SCOPE')
    expect(e.message).toBe('The token lacks the required scopes s1, s2 or roles r1')
    const roles = setup({ requiredRoles: ['r1', 'r2'] })
    expect((await refusal(roles.verifier.verify(await sign()))).message).toBe(
      'The token lacks the required roles r1, r2',
    )
    const scopes = setup({ requiredScopes: ['s1'] })
    expect((await refusal(scopes.verifier.verify(await sign()))).message).toBe(
      'The token lacks the required scopes s1',
    )
  })
})

describe('the verified user', () => {
  it('refuses a token without a string oid', async () => {
    const { verifier } = setup()
    for (const oid of [undefined, '', 42]) {
      const e = await refusal(verifier.verify(await sign({ oid: oid as never })))
      expect(e.code).toBe('MALFORMED_TOKEN')
      expect(e.message).toBe('The token has no oid claim')
    }
  })

  it('leaves out empty and non-string names, and falls back from upn to unique_name for v1.0', async () => {
    const { verifier } = setup({ tokenVersions: ['1.0', '2.0'] })
    const v2 = await verifier.verify(await sign({ name: '', preferred_username: 42 as never, azp: 'client' }))
    expect(v2).toMatchObject({ name: undefined, username: undefined, clientId: 'client' })
    const v1 = await verifier.verify(
      await sign({
        ver: '1.0',
        iss: `https://sts.windows.net/${tenant}/`,
        unique_name: 'ada@x',
        appid: 'c1',
      }),
    )
    expect(v1).toMatchObject({ username: 'ada@x', clientId: 'c1' })
    const upn = await verifier.verify(
      await sign({
        ver: '1.0',
        iss: `https://sts.windows.net/${tenant}/`,
        upn: 'ada@upn',
        unique_name: 'ada@x',
      }),
    )
    expect(upn.username).toBe('ada@upn')
  })

  it('hands out claims frozen all the way down', async () => {
    const { verifier } = setup()
    const user = await verifier.verify(await sign({ roles: ['r1'], nested: { a: { b: 1 } } }))
    expect(Object.isFrozen(user.claims)).toBe(true)
    expect(Object.isFrozen(user.claims['roles'])).toBe(true)
    expect(Object.isFrozen((user.claims['nested'] as { a: object }).a)).toBe(true)
  })
})

describe('the signature cache', () => {
  async function signatureChecks(run: () => Promise<unknown>): Promise<number> {
    const spy = vi.spyOn(crypto.subtle, 'verify')
    try {
      await run()
      return spy.mock.calls.length
    } finally {
      spy.mockRestore()
    }
  }

  it('remembers as many tokens as signatureCacheSize, least recently used out first', async () => {
    const { verifier } = setup({ signatureCacheSize: 2 })
    const [a, b, c] = await Promise.all([sign({ oid: 'a' }), sign({ oid: 'b' }), sign({ oid: 'c' })])
    await verifier.verify(a)
    await verifier.verify(b)
    expect(await signatureChecks(() => verifier.verify(a))).toBe(0) // a is now the most recent
    await verifier.verify(c) // evicts b
    expect(await signatureChecks(() => verifier.verify(a))).toBe(0)
    expect(await signatureChecks(() => verifier.verify(b))).toBe(1)
  })

  it('remembers one token with signatureCacheSize 1', async () => {
    const { verifier } = setup({ signatureCacheSize: 1 })
    const token = await sign()
    await verifier.verify(token)
    expect(await signatureChecks(() => verifier.verify(token))).toBe(0)
  })
})

describe('the JWKS fetch', () => {
  it('asks for JSON with a GET', async () => {
    const { verifier } = setup()
    await verifier.verify(await sign())
    expect(jwks.requests).toHaveLength(1)
    expect(jwks.requests[0]?.method).toBe('GET')
    expect(jwks.requests[0]?.headers.accept).toBe('application/json')
  })

  it('uses only RSA signing keys that name a kid', async () => {
    const k3 = await makeSigningKey('k3')
    const enc: JWK = { ...k2.publicJwk, use: 'enc' }
    const { verifier } = setup({}, [
      enc,
      { ...k3.publicJwk, use: undefined },
      { kty: 'EC', kid: 'ec' },
      'junk',
    ])
    const e = await refusal(verifier.verify(await sign({}, k2)))
    expect(e.code).toBe('UNKNOWN_KEY')
    expect((await verifier.verify(await sign({}, k3))).tenantId).toBe(tenant)
  })

  it('counts a key set without a usable key as none: a failing refetch then reports JWKS_UNAVAILABLE', async () => {
    const { verifier, clock } = setup({}, [{ ...k2.publicJwk, kid: undefined }])
    expect((await refusal(verifier.verify(await sign()))).code).toBe('UNKNOWN_KEY')
    jwks.status = 500
    clock.now = T0 + 30_000
    expect((await refusal(verifier.verify(await sign()))).code).toBe('JWKS_UNAVAILABLE')
  })

  it('refuses with JWKS_UNAVAILABLE, naming the URL, when the first fetch is not a 200', async () => {
    const { verifier } = setup()
    jwks.status = 500
    const e = await refusal(verifier.verify(await sign()))
    expect(e.code).toBe('JWKS_UNAVAILABLE')
    expect(e.message).toBe(`The signing keys could not be fetched from ${url}: retry later`)
    expect((e.cause as Error).message).toBe('HTTP 500')
  })

  it('keeps the keys it has when a later fetch fails', async () => {
    const { verifier, clock } = setup({ jwksMaxAgeMs: 60_000, jwksCooldownMs: 1000, signatureCacheSize: 0 })
    const token = await sign()
    await verifier.verify(token)
    jwks.status = 503
    clock.now = T0 + 61_000
    expect((await verifier.verify(token)).tenantId).toBe(tenant)
    expect(jwks.requests).toHaveLength(2)
    clock.now = T0 + 70_000
    expect((await refusal(verifier.verify(await sign({}, k2)))).code).toBe('UNKNOWN_KEY')
    expect(jwks.requests).toHaveLength(3)
  })

  it('refetches on an unknown kid only once the default 30 s cooldown has passed', async () => {
    const { verifier, clock } = setup()
    await verifier.verify(await sign())
    jwks.keys = [key.publicJwk, k2.publicJwk]
    const token2 = await sign({}, k2)
    clock.now = T0 + 29_999
    expect((await refusal(verifier.verify(token2))).code).toBe('UNKNOWN_KEY')
    expect(jwks.requests).toHaveLength(1)
    clock.now = T0 + 30_000
    expect((await verifier.verify(token2)).tenantId).toBe(tenant)
    expect(jwks.requests).toHaveLength(2)
  })

  it('refetches the keys once they are older than jwksMaxAgeMs, not at exactly that age', async () => {
    const { verifier, clock } = setup({ jwksMaxAgeMs: 60_000, signatureCacheSize: 0 })
    const token = await sign()
    await verifier.verify(token)
    clock.now = T0 + 60_000
    await verifier.verify(token)
    expect(jwks.requests).toHaveLength(1)
    clock.now = T0 + 60_001
    await verifier.verify(token)
    expect(jwks.requests).toHaveLength(2)
  })
})
