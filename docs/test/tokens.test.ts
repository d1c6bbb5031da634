import { startEmulator } from '@dataverse-s2s/emulator'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quickstart } from '../snippets/quickstart.ts'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import {
  missingConsent,
  sharedStore,
  singleFlight,
  withAssertion,
  withCertificate,
  withManagedIdentityFederation,
  withSecret,
} from '../snippets/tokens.ts'

let setup: Setup
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('the quickstart', () => {
  it('starts its own emulator, reads Contoso as the application user, prints accounts and stops', async () => {
    const lines: string[] = []
    const result = await quickstart((line) => lines.push(line))
    expect(result.accounts).toHaveLength(5)
    expect(result.accounts.map((a) => a.name)).toEqual([...result.accounts.map((a) => a.name)].sort())
    expect(lines[1]).toBe(`Signed in to Contoso as the application user ${result.applicationUserId}`)
    expect(lines.slice(2)).toEqual(result.accounts.map((a) => `- ${a.name} (${a.city ?? 'no city'})`))
    // stopped: the org no longer answers
    await expect(fetch(`${result.orgUrl}/api/data/v9.2/`)).rejects.toThrow()
  })
})

describe('tokens and caching snippets', () => {
  it('gets a token with a secret from the customer tenant for the org', async () => {
    const { token, expiresOn } = await withSecret(setup)
    expect(decodeJwt(token)).toMatchObject({
      aud: setup.contoso.orgUrl,
      tid: setup.contoso.tenantId,
      appid: setup.clientId,
      appidacr: '1',
    })
    expect(expiresOn.getTime()).toBeGreaterThan(Date.now())
  })

  it('gets a token with a certificate', async () => {
    const { token } = await withCertificate(setup)
    expect(decodeJwt(token)).toMatchObject({ tid: setup.contoso.tenantId, appidacr: '2' })
  })

  it('gets a token with a client-assertion callback', async () => {
    const { token } = await withAssertion(setup)
    expect(decodeJwt(token)).toMatchObject({ tid: setup.contoso.tenantId, appidacr: '2' })
  })

  it('gets a token with a managed identity as the federated credential', async () => {
    const { emulator } = setup
    const mi = emulator.admin.addManagedIdentity({
      tenantId: emulator.apps.find((a) => a.appId === setup.clientId)!.homeTenantId,
    })
    emulator.admin.addFederatedCredential(setup.clientId, {
      issuer: `${emulator.url}/${mi.tenantId}/v2.0`,
      subject: mi.objectId,
    })
    const saved = { endpoint: process.env['IDENTITY_ENDPOINT'], header: process.env['IDENTITY_HEADER'] }
    process.env['IDENTITY_ENDPOINT'] = `${emulator.url}/msi/token`
    process.env['IDENTITY_HEADER'] = 'emulator-identity-header'
    try {
      const token = await withManagedIdentityFederation(setup, mi.clientId)
      expect(decodeJwt(token)).toMatchObject({ tid: setup.contoso.tenantId, appidacr: '2' })
    } finally {
      if (saved.endpoint === undefined) delete process.env['IDENTITY_ENDPOINT']
      else process.env['IDENTITY_ENDPOINT'] = saved.endpoint
      if (saved.header === undefined) delete process.env['IDENTITY_HEADER']
      else process.env['IDENTITY_HEADER'] = saved.header
    }
  })

  it('answers 100 concurrent callers of a cold key with one token request', async () => {
    const { tokens } = await withSecret(setup)
    tokens.invalidate({ tenantId: setup.contoso.tenantId, resource: setup.contoso.orgUrl })
    setup.emulator.admin.resetCounters()
    const { results, requests } = await singleFlight(tokens, setup)
    expect(new Set(results.map((r) => r.token)).size).toBe(1)
    expect(requests).toBe(2) // one from withSecret above, one for the storm
    expect(setup.emulator.admin.counters().totals.tokenRequests).toBe(1)
  })

  it('shares tokens between instances through the second-level store', async () => {
    const { a, b, requestsA, requestsB } = await sharedStore(setup)
    expect(b.token).toBe(a.token)
    expect(requestsA).toBe(1)
    expect(requestsB).toBe(0)
  })

  it('explains a missing consent with the admin-consent URL', async () => {
    const { message, consentUrl } = await missingConsent(setup)
    expect(message).toContain(setup.fabrikam.tenantId)
    expect(message).toMatch(/consent/)
    const url = new URL(consentUrl!)
    expect(url.pathname).toBe(`/${setup.fabrikam.tenantId}/v2.0/adminconsent`)
    expect(url.searchParams.get('client_id')).toBe(setup.clientId)
  })
})
