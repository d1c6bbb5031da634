import { clientSecret, createTokenProvider } from '@dataverse-s2s/core'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'
import type { Customer, Setup } from './setup.ts'

/** The wiring every webapi snippet starts from: one token provider, one client per customer org. */
export function clientFor(setup: Setup, customer: Customer): DataverseClient {
  const { clientId, cloud, ca } = setup
  // #region wiring
  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(setup.clientSecret),
    cloud,
    http: { ca },
  })

  const client = createDataverseClient({
    url: customer.orgUrl,
    getToken: async (resource) => (await tokens.getToken({ tenantId: customer.tenantId, resource })).token,
    ca, // only for the emulator
  })
  // #endregion wiring
  return client
}
