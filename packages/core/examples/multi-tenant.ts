import {
  type Cloud,
  clientSecret,
  createTenantDiscovery,
  createTokenProvider,
  TokenError,
} from '@dataverse-s2s/core'

export interface MultiTenantExampleConfig {
  clientId: string
  clientSecret: string
  /** The customers' org URLs, e.g. from your tenant registry. */
  orgUrls: string[]
  cloud?: Cloud
  ca?: string
}

export async function multiTenantExample(config: MultiTenantExampleConfig) {
  const http = config.ca ? { http: { ca: config.ca } } : {}
  const clouds = config.cloud ? { clouds: [config.cloud] } : {}
  // #region multi-tenant
  // One provider for every customer: tokens are cached per (cloud, tenant, client, resource).
  const tokens = createTokenProvider({
    clientId: config.clientId,
    credential: clientSecret(config.clientSecret),
    cache: { maxEntries: 50_000 },
    // #endregion multi-tenant
    ...(config.cloud ? { cloud: config.cloud } : {}),
    ...http,
    // #region multi-tenant
  })
  // Learn each org's tenant once (from its 401 challenge); store it with the customer in real apps.
  const discovery = createTenantDiscovery({ ...clouds, ...http })

  const results: { orgUrl: string; tenantId: string; ok: boolean; problem?: string }[] = []
  for (const orgUrl of config.orgUrls) {
    const { tenantId } = await discovery.discover(orgUrl)
    try {
      await tokens.getToken({ tenantId, resource: orgUrl })
      results.push({ orgUrl, tenantId, ok: true })
    } catch (error) {
      if (!(error instanceof TokenError)) throw error
      // e.g. APP_NOT_FOUND_IN_TENANT: the customer's admin has not consented yet
      results.push({ orgUrl, tenantId, ok: false, problem: error.code })
      console.log(error.message, error.details.consentUrl)
    }
  }
  // #endregion multi-tenant
  return results
}
