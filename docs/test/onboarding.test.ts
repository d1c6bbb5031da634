import { createConsentStateManager } from '@dataverse-s2s/core'
import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { clientFor } from '../snippets/client.ts'
import {
  checkConnection,
  declinedConsent,
  discover,
  provisionWithAdminToken,
  recogniseClouds,
  rootBusinessUnit,
} from '../snippets/onboarding.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import { authenticate, makeVerifier } from '../snippets/verifier.ts'
import { consentAs } from './http-browser.ts'

let setup: Setup
let restoreTrust: () => void
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  restoreTrust = setup.emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreTrust?.()
  await setup?.emulator.stop()
})

describe('clouds and tenant discovery snippets', () => {
  it('recognises each cloud from an org URL', () => {
    expect(recogniseClouds()).toEqual({
      names: ['public', 'gcc', 'gcc-high', 'dod', 'china', undefined],
      gccHighAuthority: 'https://login.microsoftonline.us',
    })
  })

  it('discovers the tenant of each org from its 401 challenge', async () => {
    expect((await discover(setup, setup.fabrikam.orgUrl)).tenantId).toBe(setup.fabrikam.tenantId)
    const contoso = await discover(setup, setup.contoso.orgUrl)
    expect(contoso).toEqual({
      tenantId: setup.contoso.tenantId,
      authority: `${setup.emulator.url}/${setup.contoso.tenantId}`,
    })
  })
})

describe('admin consent snippets', () => {
  it('turns a cancelled consent into a message, and creates nothing', async () => {
    const states = createConsentStateManager({ secret: 'a-test-secret-of-at-least-thirty-two-bytes!' })
    const flow = await declinedConsent(setup, states, 'session-1')
    const redirect = await consentAs(flow.url, 'admin@fabrikam.onmicrosoft.com', 'cancel')
    expect(await flow.handle(redirect)).toEqual({
      message: 'An administrator must accept the permissions to connect your organization.',
    })
    expect(setup.emulator.world.getServicePrincipal(setup.fabrikam.tenantId, setup.clientId)).toBeUndefined()
  })

  it('refuses consent by a user who is not an administrator', async () => {
    const states = createConsentStateManager({ secret: 'a-test-secret-of-at-least-thirty-two-bytes!' })
    const flow = await declinedConsent(setup, states, 'session-2')
    const redirect = await consentAs(flow.url, 'carol@fabrikam.onmicrosoft.com')
    expect(new URL(redirect).searchParams.get('error_description')).toMatch(/^AADSTS90093/)
    expect(await flow.handle(redirect)).toHaveProperty('message')
  })
})

describe('provisioning snippets', () => {
  it('finds the root business unit and reports a disabled application user', async () => {
    const adminToken = await setup.emulator.world.mintUserAccessToken({
      userObjectId: defaultIds.users.contosoAdmin,
      appId: setup.clientId,
      resource: setup.contoso.orgUrl,
    })
    const asAdmin = createDataverseClient({
      url: setup.contoso.orgUrl,
      getToken: () => adminToken,
      ca: setup.ca,
    })
    const root = await rootBusinessUnit(asAdmin)
    expect(root.name).toBe('contoso')
    // Contoso is provisioned already: the helper finds its application user and changes nothing.
    expect(await provisionWithAdminToken(setup, setup.contoso.orgUrl, adminToken)).toMatchObject({
      created: false,
      rolesAdded: [],
    })

    const asApp = clientFor(setup, setup.contoso)
    expect((await checkConnection(asApp)).ok).toBe(true)
    setup.emulator.admin.setApplicationUserDisabled(setup.contoso.orgId, setup.clientId, true)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const report = await checkConnection(asApp)
      expect(report.ok).toBe(false)
      expect(report.problems[0]?.message).toMatch(/no \(enabled\) application user/)
      expect(warn).toHaveBeenCalled()
    } finally {
      warn.mockRestore()
      setup.emulator.admin.setApplicationUserDisabled(setup.contoso.orgId, setup.clientId, false)
    }
  })
})

describe('user-token verification snippets', () => {
  const mint = (user: string, resource = `api://${defaultIds.multiTenantAppId}`) =>
    setup.emulator.world.mintUserAccessToken({
      userObjectId: user,
      appId: defaultIds.multiTenantAppId,
      resource,
    })

  it('accepts an onboarded tenant’s user and refuses others with the right status', async () => {
    const verifier = makeVerifier(setup.clientId, setup.cloud, setup.ca, new Set([setup.contoso.tenantId]))
    const alice = await authenticate(verifier, `Bearer ${await mint(defaultIds.users.contosoAlice)}`)
    expect(alice).toMatchObject({
      status: 200,
      user: { tenantId: setup.contoso.tenantId, objectId: defaultIds.users.contosoAlice },
    })
    expect(await authenticate(verifier, `Bearer ${await mint(defaultIds.users.fabrikamCarol)}`)).toEqual({
      status: 403,
      code: 'TENANT_NOT_ALLOWED',
    })
    expect(
      await authenticate(
        verifier,
        `Bearer ${await mint(defaultIds.users.contosoAlice, setup.contoso.orgUrl)}`,
      ),
    ).toMatchObject({ status: 401, code: 'INVALID_AUDIENCE' })
    const [h, p] = (await mint(defaultIds.users.contosoAlice)).split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`
    expect((await authenticate(verifier, `Bearer ${none}`)).status).toBe(401)
    expect(h).toBeTruthy()
    expect(await authenticate(verifier, undefined)).toEqual({ status: 401 })
  })

  it('refuses a v1.0 token (an API manifest that leaves requestedAccessTokenVersion null) with its own code', async () => {
    const verifier = makeVerifier(setup.clientId, setup.cloud, setup.ca, new Set([setup.contoso.tenantId]))
    setup.emulator.world.setRequestedAccessTokenVersion(defaultIds.multiTenantAppId, 1)
    try {
      expect(await authenticate(verifier, `Bearer ${await mint(defaultIds.users.contosoAlice)}`)).toEqual({
        status: 401,
        code: 'UNSUPPORTED_TOKEN_VERSION',
      })
    } finally {
      setup.emulator.world.setRequestedAccessTokenVersion(defaultIds.multiTenantAppId, 2)
    }
  })
})
