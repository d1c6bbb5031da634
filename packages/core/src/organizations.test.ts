import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineCloud } from './clouds.ts'
import { DiscoveryError } from './errors.ts'
import { discoverOrganizations, discoveryScope } from './organizations.ts'

// discoverOrganizations against the emulator's Global Discovery Service (Learn: "Discover user organizations").
let emulator: EmulatorHandle
let cloud: ReturnType<typeof defineCloud>
const GDS = 'https://globaldisco.crm.dynamics.com'
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  cloud = defineCloud({ name: 'emulator', authorityHost: emulator.url, globalDiscoveryUrl: emulator.url })
})
afterAll(async () => {
  await emulator?.stop()
})

const userToken = (userObjectId: string, resource = GDS) =>
  emulator.world.mintUserAccessToken({ userObjectId, appId: defaultIds.multiTenantAppId, resource })

describe('discoverOrganizations', () => {
  it("lists the environments of the user's tenant, typed, and filters them", async () => {
    const token = await userToken(defaultIds.users.contosoAdmin)
    const http = { ca: emulator.caCertPem }
    const orgs = await discoverOrganizations(token, { cloud, http })
    const contoso = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)
    expect(orgs).toEqual([
      expect.objectContaining({
        id: defaultIds.contosoOrgId,
        uniqueName: 'contoso',
        friendlyName: 'Contoso (Production)',
        apiUrl: contoso?.url,
        tenantId: defaultIds.contosoTenantId,
        state: 0,
        region: 'NA',
      }),
    ])
    expect(await discoverOrganizations(token, { cloud, http, filter: "Region eq 'EU'" })).toEqual([])
    expect(
      await discoverOrganizations(token, { cloud, http, filter: "startswith(FriendlyName,'Contoso')" }),
    ).toHaveLength(1)
    const fabrikam = await discoverOrganizations(await userToken(defaultIds.users.fabrikamAdmin), {
      cloud,
      http,
    })
    expect(fabrikam.map((o) => o.uniqueName)).toEqual(['fabrikam'])
  })

  it('refuses an app-only token and a token for another audience with UNAUTHORIZED', async () => {
    const http = { ca: emulator.caCertPem }
    const contoso = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)
    const app = await emulator.world.mintAppToken({
      tenantId: defaultIds.contosoTenantId,
      appId: defaultIds.multiTenantAppId,
      resource: GDS,
    })
    await expect(discoverOrganizations(app, { cloud, http })).rejects.toMatchObject({
      name: 'DiscoveryError',
      code: 'UNAUTHORIZED',
    })
    const orgToken = await userToken(defaultIds.users.contosoAdmin, contoso?.url)
    const err = await discoverOrganizations(orgToken, { cloud, http }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DiscoveryError)
    expect((err as DiscoveryError).message).not.toContain(orgToken)
  })

  it('names the GDS scope per cloud', () => {
    expect(discoveryScope()).toBe('https://globaldisco.crm.dynamics.com/user_impersonation')
    expect(discoveryScope('gcc-high')).toBe('https://globaldisco.crm.microsoftdynamics.us/user_impersonation')
    expect(() => discoveryScope(defineCloud({ name: 'x', authorityHost: 'https://localhost:1' }))).toThrow(
      DiscoveryError,
    )
  })
})
