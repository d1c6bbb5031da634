import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt, importPKCS8, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consentExample } from './admin-consent.ts'
import { certificateExample } from './certificate.ts'
import { assertionExample } from './client-assertion.ts'
import { secretExample } from './client-secret.ts'
import { emulatorExample } from './emulator.ts'
import { multiTenantExample } from './multi-tenant.ts'
import { verifyExample } from './verify-user.ts'

const ids = defaultIds
let emu: EmulatorHandle
let dir: string
beforeAll(async () => {
  emu = await startEmulator({ port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'core-examples-'))
})
afterAll(async () => {
  await emu?.stop()
  await rm(dir, { recursive: true, force: true })
})
const env = () => ({
  cloud: defineCloud({ name: 'emulator', authorityHost: emu.url }),
  ca: emu.caCertPem,
  contoso: emu.orgs.find((o) => o.tenantId === ids.contosoTenantId)!.url,
  fabrikam: emu.orgs.find((o) => o.tenantId === ids.fabrikamTenantId)!.url,
  cert: emu.apps.find((a) => a.appId === ids.multiTenantAppId)!.certificates[0]!,
})

describe('examples run against the emulator', () => {
  it('client secret', async () => {
    const { cloud, ca, contoso } = env()
    const token = await secretExample({
      clientId: ids.multiTenantAppId,
      clientSecret: ids.multiTenantAppSecret,
      tenantId: ids.contosoTenantId,
      orgUrl: contoso,
      cloud,
      ca,
    })
    expect(decodeJwt(token).aud).toBe(contoso)
  })

  it('certificate from PEM files', async () => {
    const { cloud, ca, contoso, cert } = env()
    await writeFile(join(dir, 'cert.pem'), cert.certificatePem)
    await writeFile(join(dir, 'key.pem'), cert.privateKeyPem!)
    const token = await certificateExample({
      clientId: ids.multiTenantAppId,
      certificatePath: join(dir, 'cert.pem'),
      privateKeyPath: join(dir, 'key.pem'),
      tenantId: ids.contosoTenantId,
      orgUrl: contoso,
      cloud,
      ca,
    })
    expect(decodeJwt(token)).toMatchObject({ appidacr: '2', tid: ids.contosoTenantId })
  })

  it('client assertion read from a federated token file', async () => {
    const { cloud, ca, contoso, cert } = env()
    // stands in for the platform: an assertion signed with a key the app registration trusts
    const key = await importPKCS8(cert.privateKeyPem!, 'PS256')
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.thumbprintSha256 })
      .setIssuer(ids.multiTenantAppId)
      .setSubject(ids.multiTenantAppId)
      .setAudience(`${emu.url}/${ids.contosoTenantId}/oauth2/v2.0/token`)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .sign(key)
    const file = join(dir, 'federated-token')
    await writeFile(file, `${assertion}\n`)
    const token = await assertionExample({
      clientId: ids.multiTenantAppId,
      tenantId: ids.contosoTenantId,
      orgUrl: contoso,
      federatedTokenFile: file,
      cloud,
      ca,
    })
    expect(decodeJwt(token).tid).toBe(ids.contosoTenantId)
  })

  it('multi-tenant: discovers each org’s tenant and reports the one without consent', async () => {
    const { cloud, ca, contoso, fabrikam } = env()
    const results = await multiTenantExample({
      clientId: ids.multiTenantAppId,
      clientSecret: ids.multiTenantAppSecret,
      orgUrls: [contoso, fabrikam],
      cloud,
      ca,
    })
    expect(results).toEqual([
      { orgUrl: contoso, tenantId: ids.contosoTenantId, ok: true },
      { orgUrl: fabrikam, tenantId: ids.fabrikamTenantId, ok: false, problem: 'APP_NOT_FOUND_IN_TENANT' },
    ])
  })

  it('emulator', async () => {
    const r = await emulatorExample()
    expect(r.tid).toBe(ids.contosoTenantId)
  })

  it('admin consent: start and finish (redirect simulated)', async () => {
    const { startConsent, finishConsent } = consentExample({
      clientId: ids.multiTenantAppId,
      redirectUri: 'http://localhost:3000/onboarding/callback',
      stateSecret: 'k'.repeat(32),
      cloud: env().cloud,
    })
    const url = new URL(startConsent('session-1', env().fabrikam))
    const state = url.searchParams.get('state')!
    const callback = `http://localhost:3000/onboarding/callback?admin_consent=True&tenant=${ids.fabrikamTenantId}&state=${encodeURIComponent(state)}`
    expect(await finishConsent('session-2', callback)).toMatchObject({
      ok: false,
      code: 'STATE_SESSION_MISMATCH',
    })
    expect(await finishConsent('session-1', callback)).toEqual({
      ok: true,
      tenantId: ids.fabrikamTenantId,
      orgUrl: env().fabrikam,
    })
    expect(await finishConsent('session-1', callback)).toMatchObject({ ok: false, code: 'STATE_REUSED' })
  })

  it('verify a user token', async () => {
    const authenticate = verifyExample({
      apiClientId: ids.multiTenantAppId,
      onboardedTenants: new Set([ids.contosoTenantId]),
      cloud: env().cloud,
      ca: env().ca,
    })
    const token = await emu.world.mintUserAccessToken({
      userObjectId: ids.users.contosoAlice,
      appId: ids.multiTenantAppId,
      resource: `api://${ids.multiTenantAppId}`,
    })
    expect(await authenticate(`Bearer ${token}`)).toMatchObject({
      status: 200,
      user: { objectId: ids.users.contosoAlice },
    })
    expect(await authenticate(undefined)).toMatchObject({ status: 401 })
  })
})
