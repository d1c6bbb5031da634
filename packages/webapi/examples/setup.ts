// #region setup
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'

export interface OrgConnection {
  /** Org URL, e.g. https://contoso.crm.dynamics.com */
  orgUrl: string
  /** The customer's tenant that owns the org. */
  tenantId: string
  clientId: string
  clientSecret: string
  /** Only for the local emulator: its Entra ID origin and CA certificate (PEM). */
  emulator?: { authorityHost: string; ca: string }
}

/** One token provider for the whole app (it caches per tenant), one cheap client per org. */
export function connect(connection: OrgConnection): DataverseClient {
  const tokens = createTokenProvider({
    clientId: connection.clientId,
    credential: clientSecret(connection.clientSecret),
    ...(connection.emulator
      ? {
          cloud: defineCloud({
            name: 'emulator',
            authorityHost: connection.emulator.authorityHost,
            dataverseHosts: ['localhost'],
          }),
          http: { ca: connection.emulator.ca },
        }
      : {}),
  })
  return createDataverseClient({
    url: connection.orgUrl,
    // Called for every request (the provider answers from memory); after a 401 the client asks once more with
    // forceRefresh, so drop the cached token then.
    getToken: async (resource, { forceRefresh }) => {
      if (forceRefresh) tokens.invalidate({ tenantId: connection.tenantId, resource })
      return tokens.getToken({ tenantId: connection.tenantId, resource })
    },
    ...(connection.emulator ? { ca: connection.emulator.ca } : {}),
  })
}
// #endregion setup
