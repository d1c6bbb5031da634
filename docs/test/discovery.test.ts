import { defineCloud, discoveryScope } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { environmentsOf } from '../snippets/discovery.ts'

let emulator: EmulatorHandle
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
})
afterAll(async () => {
  await emulator?.stop()
})

describe('the tenant discovery guide: environments of a signed-in user', () => {
  it("lists the admin's environments with the label to show and the URL to connect to", async () => {
    const cloud = defineCloud({
      name: 'emulator',
      authorityHost: emulator.url,
      globalDiscoveryUrl: emulator.url,
    })
    expect(discoveryScope('public')).toBe('https://globaldisco.crm.dynamics.com/user_impersonation')
    const userToken = await emulator.world.mintUserAccessToken({
      userObjectId: defaultIds.users.fabrikamAdmin,
      appId: defaultIds.multiTenantAppId,
      resource: 'https://globaldisco.crm.dynamics.com',
    })
    const fabrikam = emulator.orgs.find((o) => o.tenantId === defaultIds.fabrikamTenantId)
    expect(await environmentsOf(userToken, cloud, emulator.caCertPem)).toEqual([
      { label: expect.stringContaining('Fabrikam'), orgUrl: fabrikam?.url },
    ])
  })
})
