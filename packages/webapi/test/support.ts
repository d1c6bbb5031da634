import { clientSecret, createTokenProvider, defineCloud, type TokenProvider } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { createDataverseClient, type DataverseClient, type DataverseClientOptions } from '../src/index.ts'
import { guarded } from './runaway.ts'

export interface World {
  emulator: EmulatorHandle
  tokens: TokenProvider
  contosoUrl: string
  fabrikamUrl: string
  /** A client for an org, as the multi-tenant app (app-only tokens from @dataverse-s2s/core). */
  appClient(orgUrl: string, tenantId: string, extra?: Partial<DataverseClientOptions>): DataverseClient
  /** A client acting with a user's delegated token (e.g. a tenant admin), minted by the emulator. */
  userClient(orgUrl: string, userObjectId: string): DataverseClient
  stop(): Promise<void>
}

export async function startWorld(): Promise<World> {
  const emulator = await startEmulator({ port: 0 })
  const cloud = defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] })
  const tokens = createTokenProvider({
    clientId: defaultIds.multiTenantAppId,
    credential: clientSecret(defaultIds.multiTenantAppSecret),
    cloud,
    http: { ca: emulator.caCertPem },
  })
  const orgUrl = (id: string) => {
    const org = emulator.orgs.find((o) => o.id === id)
    if (!org) throw new Error(`org ${id} missing from the emulator`)
    return org.url
  }
  return {
    emulator,
    tokens,
    contosoUrl: orgUrl(defaultIds.contosoOrgId),
    fabrikamUrl: orgUrl(defaultIds.fabrikamOrgId),
    appClient: (url, tenantId, extra = {}) =>
      guarded(
        createDataverseClient({
          url,
          ca: emulator.caCertPem,
          getToken: async (resource, { forceRefresh }) => {
            if (forceRefresh) tokens.invalidate({ tenantId, resource })
            return tokens.getToken({ tenantId, resource })
          },
          ...extra,
        }),
      ),
    userClient: (url, userObjectId) =>
      guarded(
        createDataverseClient({
          url,
          ca: emulator.caCertPem,
          getToken: (resource) =>
            emulator.world.mintUserAccessToken({
              userObjectId,
              appId: defaultIds.multiTenantAppId,
              resource,
            }),
        }),
      ),
    stop: () => emulator.stop(),
  }
}
