import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { decodeJwt, importPKCS8, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

let emulator: EmulatorHandle
let restoreDispatcher: () => void
const ids = defaultIds

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restoreDispatcher = emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreDispatcher?.()
  await emulator?.stop()
})

const orgOf = (tenantId: string) => emulator.orgs.find((o) => o.tenantId === tenantId)!
const multiTenantApp = () => emulator.apps.find((a) => a.appId === ids.multiTenantAppId)!

function secretClient(tenantId: string, secret: string = ids.multiTenantAppSecret) {
  return new ConfidentialClientApplication({
    auth: { clientId: ids.multiTenantAppId, clientSecret: secret, ...emulator.msalAuth(tenantId) },
  })
}

function certificateClient(tenantId: string, hash: 'sha1' | 'sha256') {
  const cert = multiTenantApp().certificates[0]!
  return new ConfidentialClientApplication({
    auth: {
      clientId: ids.multiTenantAppId,
      clientCertificate:
        hash === 'sha256'
          ? { thumbprintSha256: cert.thumbprintSha256Hex, privateKey: cert.privateKeyPem! }
          : { thumbprint: cert.thumbprintSha1Hex, privateKey: cert.privateKeyPem! },
      ...emulator.msalAuth(tenantId),
    },
  })
}

async function rawToken(tenant: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('client credentials with @azure/msal-node', () => {
  it('issues a v1 app-only token for Contoso with a client secret', async () => {
    const org = orgOf(ids.contosoTenantId)
    const result = await secretClient(ids.contosoTenantId).acquireTokenByClientCredential({
      scopes: [`${org.url}/.default`],
    })
    expect(result?.accessToken).toBeTruthy()
    const claims = decodeJwt(result!.accessToken)
    expect(claims).toMatchObject({
      aud: org.url,
      iss: `${emulator.url}/${ids.contosoTenantId}/`,
      tid: ids.contosoTenantId,
      oid: ids.contosoMultiTenantSpId,
      appid: ids.multiTenantAppId,
      appidacr: '1',
      idtyp: 'app',
      ver: '1.0',
    })
    expect(claims.roles).toBeUndefined()
    await expect(emulator.world.verifyJwt(result!.accessToken)).resolves.toBeTruthy()
  })

  it('works for a second customer tenant once it has consented, with secret and certificate', async () => {
    const org = orgOf(ids.fabrikamTenantId)
    const scopes = [`${org.url}/.default`]
    await expect(
      secretClient(ids.fabrikamTenantId).acquireTokenByClientCredential({ scopes }),
    ).rejects.toMatchObject({
      errorCode: 'unauthorized_client',
    })
    const sp = emulator.admin.grantConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    try {
      const bySecret = await secretClient(ids.fabrikamTenantId).acquireTokenByClientCredential({ scopes })
      expect(decodeJwt(bySecret!.accessToken)).toMatchObject({
        tid: ids.fabrikamTenantId,
        oid: sp.objectId,
        aud: org.url,
      })
      const byCert = await certificateClient(ids.fabrikamTenantId, 'sha256').acquireTokenByClientCredential({
        scopes,
      })
      expect(decodeJwt(byCert!.accessToken)).toMatchObject({ tid: ids.fabrikamTenantId, appidacr: '2' })
    } finally {
      emulator.admin.revokeConsent(ids.fabrikamTenantId, ids.multiTenantAppId)
    }
  })

  it('accepts certificate assertions signed PS256 + x5t#S256 and RS256 + x5t, and addresses the tenant by domain', async () => {
    const org = orgOf(ids.contosoTenantId)
    const scopes = [`${org.url}/.default`]
    const ps = await certificateClient(ids.contosoTenantId, 'sha256').acquireTokenByClientCredential({
      scopes,
    })
    expect(decodeJwt(ps!.accessToken)).toMatchObject({ appidacr: '2', tid: ids.contosoTenantId })
    const rs = await certificateClient('contoso.onmicrosoft.com', 'sha1').acquireTokenByClientCredential({
      scopes,
    })
    expect(decodeJwt(rs!.accessToken)).toMatchObject({ appidacr: '2', tid: ids.contosoTenantId })
  })

  it('accepts the secret in HTTP Basic and the v1 endpoint with resource=', async () => {
    const org = orgOf(ids.contosoTenantId)
    const basic = Buffer.from(
      `${encodeURIComponent(ids.multiTenantAppId)}:${encodeURIComponent(ids.multiTenantAppSecret)}`,
    ).toString('base64')
    const r = await rawToken(
      ids.contosoTenantId,
      { grant_type: 'client_credentials', scope: `${org.url}/.default` },
      { authorization: `Basic ${basic}` },
    )
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 })
    expect(r.body.refresh_token).toBeUndefined()
    const v1 = await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: ids.multiTenantAppId,
        client_secret: ids.multiTenantAppSecret,
        resource: org.url,
      }),
    })
    const body = (await v1.json()) as Record<string, string>
    expect(v1.status).toBe(200)
    expect(body).toMatchObject({ token_type: 'Bearer', resource: org.url, expires_in: '3599' })
    expect(decodeJwt(body.access_token!).aud).toBe(org.url)
  })
})

describe('trust', () => {
  it('lets another Node process trust the emulator through NODE_EXTRA_CA_CERTS=caBundlePath', async () => {
    const url = `${emulator.url}/${ids.contosoTenantId}/v2.0/.well-known/openid-configuration`
    const script = `fetch(${JSON.stringify(url)}).then(async (r) => console.log(r.status, (await r.json()).issuer), (e) => console.log('failed', e.cause?.code))`
    const run = (env: NodeJS.ProcessEnv) => promisify(execFile)(process.execPath, ['-e', script], { env })
    const trusted = await run({ ...process.env, NODE_EXTRA_CA_CERTS: emulator.trust.caBundlePath })
    expect(trusted.stdout.trim()).toBe(`200 ${emulator.url}/${ids.contosoTenantId}/v2.0`)
    const untrusted = await run({ ...process.env, NODE_EXTRA_CA_CERTS: '' })
    expect(untrusted.stdout.trim()).toMatch(/^failed/)
  })
})

describe('Entra errors', () => {
  const expectAadBody = (body: Record<string, unknown>, error: string, code: number) => {
    expect(body.error).toBe(error)
    expect(body.error_codes).toEqual([code])
    expect(String(body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `))
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(String(body.error_description)).toContain(`Trace ID: ${body.trace_id}`)
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/)
  }

  it('AADSTS700016 when the app has no service principal in the tenant (no consent)', async () => {
    const org = orgOf(ids.fabrikamTenantId)
    const r = await rawToken(ids.fabrikamTenantId, {
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: ids.multiTenantAppSecret,
      scope: `${org.url}/.default`,
    })
    expect(r.status).toBe(400)
    expectAadBody(r.body, 'unauthorized_client', 700016)
    expect(r.body.error_description).toContain(
      `'${ids.multiTenantAppId}' was not found in the directory 'Fabrikam'`,
    )
    await expect(
      secretClient(ids.fabrikamTenantId).acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] }),
    ).rejects.toMatchObject({
      errorCode: 'unauthorized_client',
      errorMessage: expect.stringContaining('AADSTS700016'),
    })
  })

  it('AADSTS7000215 for a wrong secret, without echoing it', async () => {
    const org = orgOf(ids.contosoTenantId)
    const wrong = 'not-the-secret-value'
    const r = await rawToken(
      ids.contosoTenantId,
      {
        grant_type: 'client_credentials',
        client_id: ids.multiTenantAppId,
        client_secret: wrong,
        scope: `${org.url}/.default`,
      },
      { 'client-request-id': '11111111-2222-4333-8444-555555555555' },
    )
    expect(r.status).toBe(401)
    expectAadBody(r.body, 'invalid_client', 7000215)
    expect(r.body.correlation_id).toBe('11111111-2222-4333-8444-555555555555')
    expect(JSON.stringify(r.body)).not.toContain(wrong)
    await expect(
      secretClient(ids.contosoTenantId, wrong).acquireTokenByClientCredential({
        scopes: [`${org.url}/.default`],
      }),
    ).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringContaining('AADSTS7000215'),
    })
  })

  it('issues an app-only Microsoft Graph token in any tenant the app is in (the usual credential check), v1 with aud = Graph', async () => {
    for (const graph of ['https://graph.microsoft.com', 'https://graph.microsoft.us']) {
      const result = await secretClient(ids.isvTenantId).acquireTokenByClientCredential({
        scopes: [`${graph}/.default`],
      })
      const claims = decodeJwt(result?.accessToken ?? '')
      expect(claims).toMatchObject({
        aud: graph,
        tid: ids.isvTenantId,
        appid: ids.multiTenantAppId,
        ver: '1.0',
      })
    }
    // still not in a tenant that never consented (AADSTS700016), and a wrong secret is still AADSTS7000215
    await expect(
      secretClient(ids.fabrikamTenantId).acquireTokenByClientCredential({
        scopes: ['https://graph.microsoft.com/.default'],
      }),
    ).rejects.toMatchObject({ errorMessage: expect.stringContaining('AADSTS700016') })
    await expect(
      secretClient(ids.isvTenantId, 'not-the-secret').acquireTokenByClientCredential({
        scopes: ['https://graph.microsoft.com/.default'],
      }),
    ).rejects.toMatchObject({ errorMessage: expect.stringContaining('AADSTS7000215') })
  })

  it('AADSTS500011 for an unknown resource', async () => {
    const r = await rawToken(ids.contosoTenantId, {
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: ids.multiTenantAppSecret,
      scope: 'https://unknown.crm.dynamics.com/.default',
    })
    expect(r.status).toBe(400)
    expectAadBody(r.body, 'invalid_resource', 500011)
    await expect(
      secretClient(ids.contosoTenantId).acquireTokenByClientCredential({
        scopes: ['https://unknown.crm.dynamics.com/.default'],
      }),
    ).rejects.toMatchObject({ errorCode: 'invalid_resource' })
  })

  it('AADSTS90002 for an unknown tenant, on the token endpoint and the metadata', async () => {
    const unknown = '00000000-1111-4222-8333-444444444444'
    const r = await rawToken(unknown, {
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: 'x',
      scope: 'x/.default',
    })
    expect(r.status).toBe(400)
    expectAadBody(r.body, 'invalid_tenant', 90002)
    const meta = await fetch(`${emulator.url}/${unknown}/v2.0/.well-known/openid-configuration`)
    expect(meta.status).toBe(400)
    expectAadBody((await meta.json()) as Record<string, unknown>, 'invalid_tenant', 90002)
    await expect(
      secretClient(unknown).acquireTokenByClientCredential({
        scopes: [`${orgOf(ids.contosoTenantId).url}/.default`],
      }),
    ).rejects.toThrow()
  })

  it('refuses client_credentials on /organizations (AADSTS50059) and a scope without /.default (AADSTS1002012)', async () => {
    const org = orgOf(ids.contosoTenantId)
    const base = {
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_secret: ids.multiTenantAppSecret,
    }
    const orgs = await rawToken('organizations', { ...base, scope: `${org.url}/.default` })
    expectAadBody(orgs.body, 'invalid_request', 50059)
    const scope = await rawToken(ids.contosoTenantId, { ...base, scope: `${org.url}/user_impersonation` })
    expectAadBody(scope.body, 'invalid_scope', 1002012)
    const missing = await rawToken(ids.contosoTenantId, { client_id: ids.multiTenantAppId })
    expectAadBody(missing.body, 'invalid_request', 900144)
    const get = await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`)
    expect(get.status).toBe(405)
    expectAadBody((await get.json()) as Record<string, unknown>, 'invalid_request', 900561)
  })
})

describe('certificate client assertions', () => {
  const tokenUrl = () => `${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`
  async function assertion(overrides: { aud?: string; exp?: number; jti?: string; iss?: string } = {}) {
    const cert = multiTenantApp().certificates[0]!
    const key = await importPKCS8(cert.privateKeyPem!, 'PS256')
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ jti: overrides.jti ?? randomUUID() })
      .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.thumbprintSha256 })
      .setIssuer(overrides.iss ?? ids.multiTenantAppId)
      .setSubject(ids.multiTenantAppId)
      .setAudience(overrides.aud ?? tokenUrl())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(overrides.exp ?? now + 600)
      .sign(key)
  }
  const request = (clientAssertion: string) =>
    rawToken(ids.contosoTenantId, {
      grant_type: 'client_credentials',
      client_id: ids.multiTenantAppId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
      scope: `${orgOf(ids.contosoTenantId).url}/.default`,
    })

  it('accepts the same assertion again until it expires, as Entra documents and MSAL relies on', async () => {
    const a = await assertion()
    expect((await request(a)).status).toBe(200)
    expect((await request(a)).status).toBe(200)
  })

  it('refuses a different assertion that reuses a known jti (replay)', async () => {
    const jti = randomUUID()
    expect((await request(await assertion({ jti }))).status).toBe(200)
    const forged = await request(await assertion({ jti, exp: Math.floor(Date.now() / 1000) + 300 }))
    expect(forged.status).toBe(400)
    expect(forged.body.error_description).toContain('replay')
  })

  it('lets msal-node reuse its cached assertion for two resources of one tenant', async () => {
    const contoso = orgOf(ids.contosoTenantId)
    const second = await emulator.admin.createOrg({
      uniqueName: 'contoso-second',
      tenantId: ids.contosoTenantId,
      displayName: 'Contoso second',
    })
    const client = certificateClient(ids.contosoTenantId, 'sha256')
    for (const org of [contoso, second]) {
      const result = await client.acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] })
      expect(decodeJwt(result!.accessToken).aud).toBe(org.url)
    }
  })

  it('refuses a wrong audience, an expired assertion, a foreign issuer and an unregistered certificate', async () => {
    expect(
      (await request(await assertion({ aud: `${emulator.url}/${ids.fabrikamTenantId}/oauth2/v2.0/token` })))
        .body.error_codes,
    ).toEqual([50027])
    expect(
      (await request(await assertion({ exp: Math.floor(Date.now() / 1000) - 3600 }))).body.error_codes,
    ).toEqual([700024])
    expect((await request(await assertion({ iss: ids.singleTenantAppId }))).body.error_codes).toEqual([
      700021,
    ])
    const other = emulator.apps.find((a) => a.appId === ids.singleTenantAppId)!.certificates[0]!
    const key = await importPKCS8(other.privateKeyPem!, 'PS256')
    const foreign = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'PS256', 'x5t#S256': other.thumbprintSha256 })
      .setIssuer(ids.multiTenantAppId)
      .setSubject(ids.multiTenantAppId)
      .setAudience(tokenUrl())
      .setExpirationTime('10m')
      .sign(key)
    const r = await request(foreign)
    expect(r.status).toBe(401)
    expect(r.body.error_codes).toEqual([700027])
  })
})
