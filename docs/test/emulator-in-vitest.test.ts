// Shown in the emulator guide as the way to use the emulator from your own vitest suite.
// #region vitest
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let emulator: EmulatorHandle
let contoso: DataverseClient

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 }) // free ports: suites can run in parallel
  const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)!
  const tokens = createTokenProvider({
    clientId: defaultIds.multiTenantAppId,
    credential: clientSecret(defaultIds.multiTenantAppSecret),
    cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
    http: { ca: emulator.caCertPem },
  })
  contoso = createDataverseClient({
    url: org.url,
    getToken: async (resource) => (await tokens.getToken({ tenantId: org.tenantId, resource })).token,
    ca: emulator.caCertPem,
  })
})

afterAll(() => emulator.stop())

beforeEach(() => {
  emulator.admin.clearFaults()
  emulator.admin.resetCounters()
})

describe('my sync job', () => {
  it('writes every account once, even when Dataverse fails now and then', async () => {
    emulator.admin.injectFault({ scope: 'dataverse', kind: 'status', status: 503, next: 3 })
    for (const n of [1, 2, 3]) {
      await contoso.upsert('accounts', { accountnumber: `JOB-${n}` }, { name: `Synced ${n}` })
    }
    expect(await contoso.count('accounts', { filter: "startswith(accountnumber, 'JOB-')" })).toBe(3)
    expect(emulator.admin.listFaults()).toEqual([]) // the three injected 503s were used up, and retried
  })

  it('reports a customer who has not consented', async () => {
    emulator.admin.revokeConsent(defaultIds.contosoTenantId, defaultIds.multiTenantAppId)
    const fresh = createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
      http: { ca: emulator.caCertPem },
    })
    const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)!
    await expect(fresh.getToken({ tenantId: org.tenantId, resource: org.url })).rejects.toMatchObject({
      code: 'APP_NOT_FOUND_IN_TENANT',
    })
    emulator.admin.grantConsent(defaultIds.contosoTenantId, defaultIds.multiTenantAppId)
  })
})
// #endregion vitest

// #region clock
describe('token expiry, without waiting for it', () => {
  it('gets a new token when Dataverse refuses the expired one', async () => {
    const calls: boolean[] = []
    const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)!
    const tokens = createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
      http: { ca: emulator.caCertPem },
    })
    const client = createDataverseClient({
      url: org.url,
      getToken: async (resource, { forceRefresh }) => {
        calls.push(forceRefresh)
        if (forceRefresh) tokens.invalidate({ tenantId: org.tenantId, resource })
        return (await tokens.getToken({ tenantId: org.tenantId, resource })).token
      },
      ca: emulator.caCertPem,
    })
    await client.whoAmI()
    emulator.admin.advanceClock(2 * 3600) // the emulator's tokens live 3599 s: this one has expired
    await client.whoAmI() // 401, then one retry with a fresh token
    expect(calls).toEqual([false, false, true])
  })
})
// #endregion clock
