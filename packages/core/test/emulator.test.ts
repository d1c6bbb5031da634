// Integration tests: the real @azure/msal-node, through our provider, against the emulator over real HTTPS.
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  buildAdminConsentUrl,
  type Cloud,
  clientCertificate,
  clientSecret,
  createConsentStateManager,
  createTenantDiscovery,
  createTokenProvider,
  createUserTokenVerifier,
  defineCloud,
  type Logger,
  parseAdminConsentRedirect,
  type TokenProviderOptions,
} from '../src/index.ts'
import { send } from '../src/internal/http.ts'
import { secretsSeen } from './helpers/leak-scan.ts'

const ids = defaultIds
let emu: EmulatorHandle
let cloud: Cloud
const logLines: string[] = []
const logger: Logger = {
  debug: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  info: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  warn: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
  error: (m, f) => logLines.push(`${m} ${JSON.stringify(f ?? {})}`),
}
const errors: unknown[] = []

beforeAll(async () => {
  emu = await startEmulator({ port: 0 })
  cloud = defineCloud({ name: 'emulator', authorityHost: emu.url })
})
afterAll(async () => {
  await emu?.stop()
})
beforeEach(() => {
  emu.admin.clearFaults()
  emu.admin.resetCounters()
})

const org = (tenantId: string) => emu.orgs.find((o) => o.tenantId === tenantId)!.url
const app = () => emu.apps.find((a) => a.appId === ids.multiTenantAppId)!
const tokenRequests = () => emu.admin.counters().totals.tokenRequests

function provider(extra: Partial<TokenProviderOptions> = {}) {
  return createTokenProvider({
    clientId: ids.multiTenantAppId,
    credential: clientSecret(ids.multiTenantAppSecret),
    cloud,
    http: { ca: emu.caCertPem },
    logger,
    ...extra,
  })
}

async function failure(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeDefined()
  errors.push(e)
  return e as { code: string; message: string; details: Record<string, unknown>; cause: unknown }
}

describe('token provider against the emulator (real MSAL, HTTPS)', () => {
  it('gets an app-only token with a client secret', async () => {
    const { token, expiresOn } = await provider().getToken({
      tenantId: ids.contosoTenantId,
      resource: org(ids.contosoTenantId),
    })
    expect(decodeJwt(token)).toMatchObject({
      aud: org(ids.contosoTenantId),
      tid: ids.contosoTenantId,
      appid: ids.multiTenantAppId,
      appidacr: '1',
      idtyp: 'app',
    })
    expect(expiresOn.getTime()).toBeGreaterThan(Date.now() + 3_000_000)
    expect(tokenRequests()).toBe(1)
  })

  it('gets an app-only token with a certificate (thumbprint computed, key validated)', async () => {
    const cert = app().certificates[0]!
    const p = provider({
      credential: clientCertificate({ certificate: cert.certificatePem, privateKey: cert.privateKeyPem! }),
    })
    const { token } = await p.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) })
    expect(decodeJwt(token)).toMatchObject({ tid: ids.contosoTenantId, appidacr: '2' })
  })

  it('refuses a certificate the app registration does not have', async () => {
    const other = emu.apps.find((a) => a.appId === ids.singleTenantAppId)!.certificates[0]!
    const p = provider({
      credential: clientCertificate({ certificate: other.certificatePem, privateKey: other.privateKeyPem! }),
    })
    const e = await failure(p.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }))
    expect(e.code).toBe('INVALID_CLIENT_ASSERTION')
  })

  it('serves two tenants, each from its own tenant, with one request each', async () => {
    emu.admin.grantConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    try {
      const p = provider()
      const a = await p.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) })
      const b = await p.getToken({ tenantId: ids.fabrikamTenantId, resource: org(ids.fabrikamTenantId) })
      expect(decodeJwt(a.token).tid).toBe(ids.contosoTenantId)
      expect(decodeJwt(b.token).tid).toBe(ids.fabrikamTenantId)
      expect(decodeJwt(b.token).aud).toBe(org(ids.fabrikamTenantId))
      await p.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) })
      await p.getToken({ tenantId: ids.fabrikamTenantId, resource: org(ids.fabrikamTenantId) })
      expect(tokenRequests()).toBe(2)
    } finally {
      emu.admin.revokeConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    }
  })

  it('explains a missing consent (AADSTS700016) with the admin-consent URL', async () => {
    const e = await failure(
      provider({ consentRedirectUri: 'http://localhost:3000/onboarding/callback' }).getToken({
        tenantId: ids.fabrikamTenantId,
        resource: org(ids.fabrikamTenantId),
      }),
    )
    expect(e.code).toBe('APP_NOT_FOUND_IN_TENANT')
    expect(e.details['aadsts']).toBe(700016)
    expect(e.message).toContain(`no service principal in tenant ${ids.fabrikamTenantId}`)
    const url = new URL(e.details['consentUrl'] as string)
    expect(`${url.origin}${url.pathname}`).toBe(`${emu.url}/${ids.fabrikamTenantId}/v2.0/adminconsent`)
    expect(url.searchParams.get('redirect_uri')).toBe('http://localhost:3000/onboarding/callback')
    expect(e.cause).toBeInstanceOf(Error)
  })

  it('explains a wrong secret (AADSTS7000215)', async () => {
    const e = await failure(
      provider({ credential: clientSecret('Wrong~secret-value-000000') }).getToken({
        tenantId: ids.contosoTenantId,
        resource: org(ids.contosoTenantId),
      }),
    )
    expect(e.code).toBe('INVALID_CLIENT_SECRET')
    expect(e.details['aadsts']).toBe(7000215)
  })

  it('explains an unknown tenant (AADSTS90002)', async () => {
    const tenantId = randomUUID()
    const e = await failure(provider().getToken({ tenantId, resource: org(ids.contosoTenantId) }))
    expect(e.code).toBe('TENANT_NOT_FOUND')
    expect(e.message).toContain(tenantId)
  })

  it('gives up on a token request after the time limit', async () => {
    emu.admin.injectFault({ scope: 'entra', kind: 'latency', latencyMs: 60_000, path: '/token' })
    const e = await failure(
      provider({ http: { ca: emu.caCertPem, timeoutMs: 100 } }).getToken({
        tenantId: ids.contosoTenantId,
        resource: org(ids.contosoTenantId),
      }),
    )
    expect(e.code).toBe('TIMEOUT')
    // The abandoned request still completes at the emulator (its delay ends when the client hangs up); let it land
    // here so later tests count exactly.
    await waitFor(() => tokenRequests() === 1)
  })

  it('refuses common/organizations before calling Entra ID', async () => {
    const e = await failure(
      provider().getToken({ tenantId: 'organizations', resource: org(ids.contosoTenantId) }),
    )
    expect(e.code).toBe('INVALID_TENANT')
    expect(tokenRequests()).toBe(0)
  })

  it('sends one token request for 200 concurrent callers of a cold key (through real MSAL and HTTPS)', async () => {
    const p = provider()
    // 200, not the 1,000 of the unit test and the bench: were the single flight broken, each caller would cost real
    // MSAL requests and TLS handshakes in this process, and the test must still end quickly on its assertion.
    const calls = Array.from({ length: 200 }, () =>
      p.getToken({ tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }),
    )
    // Checked as soon as the first request starts, before any answer: the callers' misses run in step, so were the
    // single flight broken, all of them would have started theirs by then.
    for (let turn = 0; turn < 100 && p.stats().requests === 0; turn++) await Promise.resolve()
    expect(p.stats().requests).toBe(1)
    const results = await Promise.all(calls)
    expect(new Set(results.map((r) => r.token)).size).toBe(1)
    expect(tokenRequests()).toBe(1)
  })

  it('refreshes ahead of expiry in the background while callers get the valid token at once', async () => {
    // With the emulator's usual 3599 s tokens the provider's clock is moved; the next test uses real short-lived tokens.
    let offset = 0
    const p = provider({ now: () => Date.now() + offset })
    const request = { tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }
    const first = await p.getToken(request)
    offset = 3599_000 - 4 * 60_000 // 4 minutes before expiry: inside the refresh window, still valid
    const served = await p.getToken(request)
    expect(served.token).toBe(first.token)
    expect(p.stats()).toMatchObject({ refreshes: 1, requests: 2 })
    await waitFor(async () => (await p.getToken(request)).token !== first.token)
    expect(tokenRequests()).toBe(2)
  })

  it('refreshes short-lived emulator tokens ahead of expiry, without making callers wait', async () => {
    emu.admin.setTokenLifetime(12) // refresh window: half the lifetime, so the refresh starts 6 s in
    try {
      // 6.3 s pass on both clocks, the provider's and the emulator's, without waiting for them.
      let offset = 0
      const p = provider({ now: () => Date.now() + offset })
      const request = { tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }
      const first = await p.getToken(request)
      const firstExpiry = decodeJwt(first.token).exp! * 1000
      expect(firstExpiry - emu.world.clock.now()).toBeLessThanOrEqual(12_000)
      offset += 6_300
      emu.admin.advanceClock(6.3)
      // Inside the refresh window: answered from the cache at once, while the refresh runs in the background.
      expect((await p.getToken(request)).token).toBe(first.token)
      await waitFor(async () => (await p.getToken(request)).token !== first.token)
      const second = (await p.getToken(request)).token
      // The new token was issued 6 s or more after the first, and before the first one expired: no caller ever
      // held an expired token.
      expect(decodeJwt(second).iat! - decodeJwt(first.token).iat!).toBeGreaterThanOrEqual(6)
      expect(emu.world.clock.now()).toBeLessThan(firstExpiry)
      // One cold request and one background refresh.
      expect(p.stats()).toMatchObject({ misses: 1, refreshes: 1, requests: 2 })
      expect(tokenRequests()).toBe(2)
    } finally {
      emu.admin.setTokenLifetime(3599)
    }
  })

  it('answers from the still-valid token when the refresh fails, then recovers', async () => {
    let offset = 0
    // A long back-off moved past by the fake clock: a stalled event loop cannot start a second refresh early.
    const p = provider({ now: () => Date.now() + offset, refresh: { retryBaseMs: 60_000 } })
    const request = { tenantId: ids.contosoTenantId, resource: org(ids.contosoTenantId) }
    const first = await p.getToken(request)
    emu.admin.injectFault({ scope: 'entra', kind: 'status', status: 503, path: '/token' })
    offset = 3599_000 - 4 * 60_000
    expect((await p.getToken(request)).token).toBe(first.token)
    await waitFor(() => p.stats().refreshFailures === 1)
    expect((await p.getToken(request)).token).toBe(first.token)
    expect(logLines.some((l) => l.includes('background token refresh failed'))).toBe(true)
    emu.admin.clearFaults()
    offset += 61_000 // past the back-off; the token is still valid
    expect((await p.getToken(request)).token).toBe(first.token)
    await waitFor(() => p.stats().requests >= 2 && p.stats().refreshFailures === 1 && p.stats().size === 1)
    await waitFor(async () => (await p.getToken(request)).token !== first.token)
  })
})

describe('tenant discovery against the emulator', () => {
  it('finds the tenant of an org URL from its 401 challenge, and caches it', async () => {
    const discovery = createTenantDiscovery({ clouds: [cloud], http: { ca: emu.caCertPem } })
    const found = await discovery.discover(`${org(ids.contosoTenantId)}/main.aspx`)
    expect(found).toMatchObject({
      tenantId: ids.contosoTenantId,
      orgUrl: org(ids.contosoTenantId),
      authority: `${emu.url}/${ids.contosoTenantId}`,
    })
    expect(found.cloud.name).toBe('emulator')
    const before = emu.admin.counters().totals.dataverseRequests
    await discovery.discover(org(ids.contosoTenantId))
    expect(emu.admin.counters().totals.dataverseRequests).toBe(before)
    // discovered tenant + provider: the whole multi-tenant path from an org URL
    const { token } = await provider().getToken({ tenantId: found.tenantId, resource: found.orgUrl })
    expect(decodeJwt(token).aud).toBe(found.orgUrl)
  })

  it('probes an org once for concurrent callers', async () => {
    const discovery = createTenantDiscovery({ clouds: [cloud], http: { ca: emu.caCertPem } })
    const before = emu.admin.counters().totals.dataverseRequests
    const all = await Promise.all(
      Array.from({ length: 20 }, () => discovery.discover(org(ids.fabrikamTenantId))),
    )
    expect(new Set(all.map((d) => d.tenantId))).toEqual(new Set([ids.fabrikamTenantId]))
    expect(emu.admin.counters().totals.dataverseRequests - before).toBe(1)
  })

  it('refuses a challenge naming a login host that is not the cloud’s', async () => {
    const elsewhere = defineCloud({
      name: 'elsewhere',
      authorityHost: 'https://login.elsewhere.example',
      dataverseHosts: ['localhost'],
    })
    const discovery = createTenantDiscovery({ cloud: elsewhere, http: { ca: emu.caCertPem } })
    const e = await failure(discovery.discover(org(ids.contosoTenantId)))
    expect(e.code).toBe('UNTRUSTED_AUTHORITY')
  })

  it('gives up after its timeout', async () => {
    const sockets: import('node:net').Socket[] = []
    const silent: Server = createServer((s) => {
      sockets.push(s)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as import('node:net').AddressInfo).port
    try {
      const discovery = createTenantDiscovery({
        clouds: [cloud],
        http: { ca: emu.caCertPem, timeoutMs: 200 },
      })
      const e = await failure(discovery.discover(`https://localhost:${port}`))
      expect(e.code).toBe('TIMEOUT')
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })
})

describe('user-token verifier against the emulator’s keys', () => {
  const apiUri = `api://${ids.multiTenantAppId}`
  const audience = [ids.multiTenantAppId, apiUri]
  const verifier = () =>
    createUserTokenVerifier({
      audience,
      cloud,
      http: { ca: emu.caCertPem },
      isTenantAllowed: (t) => t === ids.contosoTenantId,
      requiredScopes: ['access_as_user'],
    })
  const userToken = (user: string, extra: { lifetimeSeconds?: number; scp?: string } = {}) =>
    emu.world.mintUserAccessToken({
      userObjectId: user,
      appId: ids.multiTenantAppId,
      resource: apiUri,
      ...extra,
    })

  it('accepts a good v2 token and returns the user', async () => {
    const user = await verifier().verify(await userToken(ids.users.contosoAlice))
    expect(user).toMatchObject({
      tenantId: ids.contosoTenantId,
      objectId: ids.users.contosoAlice,
      name: 'Alice Anderson',
      scopes: ['access_as_user'],
    })
  })

  it('refuses a user of a tenant that is not onboarded', async () => {
    const e = await failure(verifier().verify(await userToken(ids.users.fabrikamCarol)))
    expect(e.code).toBe('TENANT_NOT_ALLOWED')
  })

  it('refuses an expired token, a token for an org (wrong audience) and a tampered one', async () => {
    expect(
      (await failure(verifier().verify(await userToken(ids.users.contosoAlice, { lifetimeSeconds: -600 }))))
        .code,
    ).toBe('TOKEN_EXPIRED')
    const forOrg = await emu.world.mintUserAccessToken({
      userObjectId: ids.users.contosoAlice,
      appId: ids.multiTenantAppId,
      resource: org(ids.contosoTenantId),
    })
    expect((await failure(verifier().verify(forOrg))).code).toBe('INVALID_AUDIENCE')
    const good = await userToken(ids.users.contosoAlice)
    const [h, p, s] = good.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    claims.oid = ids.users.contosoAdmin
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
    expect((await failure(verifier().verify(tampered))).code).toBe('INVALID_SIGNATURE')
  })

  it('refuses a forged token, alg none and HS256 signed with the emulator’s public key', async () => {
    const good = await userToken(ids.users.contosoAlice)
    const [h, p] = good.split('.') as [string, string, string]
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string }
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    // forged: same kid and claims, signed by a key of our own
    const { generateKeyPair, SignJWT } = await import('jose')
    const mine = await generateKeyPair('RS256')
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: header.kid })
      .sign(mine.privateKey)
    expect((await failure(verifier().verify(forged))).code).toBe('INVALID_SIGNATURE')
    // alg none
    expect((await failure(verifier().verify(`${b64({ alg: 'none', kid: header.kid })}.${p}.`))).code).toBe(
      'UNSUPPORTED_ALGORITHM',
    )
    // HS256 keyed with the emulator's published public key (the classic key-confusion attack)
    const jwks = JSON.parse(
      (await send(`${emu.url}/common/discovery/v2.0/keys`, {}, { ca: emu.caCertPem })).text,
    ) as {
      keys: import('node:crypto').JsonWebKey[]
    }
    const { createHmac, createPublicKey } = await import('node:crypto')
    const jwk = jwks.keys.find((k) => (k as { kid?: string }).kid === header.kid)!
    const pem = createPublicKey({ key: jwk, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString()
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: header.kid })}.${p}`
    const hs = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
    expect((await failure(verifier().verify(hs))).code).toBe('UNSUPPORTED_ALGORITHM')
    // wrong tenant: validly signed, but issued by Fabrikam's issuer while claiming Contoso's tid
    const crossTenant = await emu.world.signingKeys.signJwt({
      ...claims,
      iss: `${emu.url}/${ids.fabrikamTenantId}/v2.0`,
      tid: ids.contosoTenantId,
    })
    expect((await failure(verifier().verify(crossTenant))).code).toBe('INVALID_ISSUER')
  })

  it('accepts tokens signed by a rolled-over key (JWKS refetched on the unknown kid)', async () => {
    const v = createUserTokenVerifier({
      audience,
      cloud,
      http: { ca: emu.caCertPem },
      isTenantAllowed: () => true,
      jwksCooldownMs: 0,
    })
    await v.verify(await userToken(ids.users.contosoAlice))
    await emu.admin.rolloverSigningKey()
    await expect(v.verify(await userToken(ids.users.contosoAlice))).resolves.toMatchObject({
      objectId: ids.users.contosoAlice,
    })
  })
})

describe('admin consent round trip through the emulator’s consent page', () => {
  const redirectUri = 'http://localhost:3000/onboarding/callback'
  const unescapeHtml = (v: string) =>
    v
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
  const hiddenFields = (html: string) => {
    const out = new URLSearchParams()
    for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
      out.set(unescapeHtml(m[1]!), unescapeHtml(m[2]!))
    return out
  }
  const formAction = (html: string) => unescapeHtml(/<form method="post" action="([^"]*)"/.exec(html)![1]!)

  /** Plays the administrator in the browser: sign in as `login`, then press Accept or Cancel. */
  async function adminClicks(
    consentUrl: string,
    login: string,
    button: 'accept' | 'cancel',
  ): Promise<string> {
    const http = { ca: emu.caCertPem }
    const signIn = await send(consentUrl, { method: 'GET' }, http)
    expect(signIn.status).toBe(200)
    const fields = hiddenFields(signIn.text)
    fields.set('login', login)
    const consentPage = await send(
      `${emu.url}${formAction(signIn.text)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
      },
      http,
    )
    expect(consentPage.status).toBe(200)
    const cookie = (consentPage.headers['set-cookie'] ?? '').split(';')[0] ?? ''
    const answer = hiddenFields(consentPage.text)
    answer.set('consent', button)
    const back = await send(
      `${emu.url}${formAction(consentPage.text)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        body: answer.toString(),
      },
      http,
    )
    expect(back.status).toBe(302)
    return back.headers['location']!
  }

  it('consents as Fabrikam’s admin, verifies the state, and the tenant then gets tokens', async () => {
    const states = createConsentStateManager({ secret: 'a-32-byte-secret-for-consent-tests!' })
    const fabrikamOrg = org(ids.fabrikamTenantId)
    const url = buildAdminConsentUrl({
      clientId: ids.multiTenantAppId,
      cloud,
      redirectUri,
      state: states.create('browser-session-1', fabrikamOrg),
      resource: fabrikamOrg,
    })
    try {
      const location = await adminClicks(url, 'admin@fabrikam.onmicrosoft.com', 'accept')
      expect(location.startsWith(`${redirectUri}?`)).toBe(true)
      // the same redirect replayed from another browser session is refused
      const other = createConsentStateManager({ secret: 'a-32-byte-secret-for-consent-tests!' })
      expect(
        (
          await failure(
            parseAdminConsentRedirect(location, { states: other, sessionId: 'browser-session-2' }),
          )
        ).code,
      ).toBe('STATE_SESSION_MISMATCH')
      const result = await parseAdminConsentRedirect(location, { states, sessionId: 'browser-session-1' })
      expect(result).toMatchObject({
        tenantId: ids.fabrikamTenantId,
        data: fabrikamOrg,
        scopes: [`${fabrikamOrg}/.default`],
      })
      expect(
        (await failure(parseAdminConsentRedirect(location, { states, sessionId: 'browser-session-1' }))).code,
      ).toBe('STATE_REUSED')
      // the tenant in the redirect is only a hint: a token for it proves the service principal now exists
      const { token } = await provider().getToken({ tenantId: result.tenantId, resource: fabrikamOrg })
      expect(decodeJwt(token).tid).toBe(ids.fabrikamTenantId)
    } finally {
      emu.admin.revokeConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    }
  })

  it('turns a declined consent into CONSENT_DENIED', async () => {
    const states = createConsentStateManager({ secret: 'a-32-byte-secret-for-consent-tests!' })
    const url = buildAdminConsentUrl({
      clientId: ids.multiTenantAppId,
      cloud,
      redirectUri,
      state: states.create('s'),
      resource: org(ids.fabrikamTenantId),
    })
    const location = await adminClicks(url, 'admin@fabrikam.onmicrosoft.com', 'cancel')
    const e = await failure(parseAdminConsentRedirect(location, { states, sessionId: 's' }))
    expect(e.code).toBe('CONSENT_DENIED')
    expect(emu.world.getServicePrincipal(ids.fabrikamTenantId, ids.multiTenantAppId)).toBeUndefined()
  })
})

describe('no secret, assertion or token leaks', () => {
  it('appears in no error message, cause or log line of the failure tests above', () => {
    const cert = app().certificates[0]!
    const other = emu.apps.find((a) => a.appId === ids.singleTenantAppId)!.certificates[0]!
    const secrets = [
      ids.multiTenantAppSecret,
      'Wrong~secret-value-000000',
      ...[cert.privateKeyPem!, other.privateKeyPem!].flatMap((k) =>
        k.split('\n').filter((l) => l.length > 40),
      ),
    ]
    expect(errors.length).toBeGreaterThanOrEqual(10)
    expect(logLines.length).toBeGreaterThan(0)
    const found = secretsSeen({ errors, logLines, secrets })
    expect(found).toEqual([])
  })
})

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
