import { clientSecret, createTokenProvider, defineCloud, type TokenProvider } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import {
  createDataverseClient,
  type DataverseClient,
  type DataverseClientOptions,
} from '@dataverse-s2s/webapi'

/** The emulator and app-only clients of Contoso's org, as instances of one app would make them. */
export interface World {
  emulator: EmulatorHandle
  tokens: TokenProvider
  orgUrl: string
  client(extra: Partial<DataverseClientOptions>): DataverseClient
  stop(): Promise<void>
}

export async function startWorld(): Promise<World> {
  const emulator = await startEmulator({ port: 0 })
  const tokens = createTokenProvider({
    clientId: defaultIds.multiTenantAppId,
    credential: clientSecret(defaultIds.multiTenantAppSecret),
    cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url, dataverseHosts: ['localhost'] }),
    http: { ca: emulator.caCertPem },
  })
  const org = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)
  if (!org) throw new Error('Contoso org missing from the emulator')
  const tenantId = defaultIds.contosoTenantId
  return {
    emulator,
    tokens,
    orgUrl: org.url,
    client: (extra) =>
      createDataverseClient({
        url: org.url,
        ca: emulator.caCertPem,
        getToken: async (resource, { forceRefresh }) => {
          if (forceRefresh) tokens.invalidate({ tenantId, resource })
          return tokens.getToken({ tenantId, resource })
        },
        ...extra,
      }),
    stop: () => emulator.stop(),
  }
}
