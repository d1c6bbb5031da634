// The quickstart: start the emulator, get an app-only token for Contoso, read Contoso's org.
// Run it with: pnpm --filter docs quickstart
// #region imports
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { createDataverseClient } from '@dataverse-s2s/webapi'
// #endregion imports

export interface QuickstartResult {
  orgUrl: string
  applicationUserId: string
  accounts: { name: string; city: string | null }[]
}

export async function quickstart(log: (line: string) => void = console.log): Promise<QuickstartResult> {
  // #region start
  // A local Entra ID plus one Dataverse org per customer tenant, on free ports.
  const emulator = await startEmulator({ port: 0 })
  const contoso = emulator.orgs.find((org) => org.tenantId === defaultIds.contosoTenantId)!
  log(`Entra ID on ${emulator.url}, Contoso's org on ${contoso.url}`)
  // #endregion start
  try {
    // #region tokens
    // The emulator is a custom cloud; on Microsoft's cloud you would pass nothing (public) or 'gcc-high', ….
    const tokens = createTokenProvider({
      clientId: defaultIds.multiTenantAppId,
      credential: clientSecret(defaultIds.multiTenantAppSecret),
      cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
      http: { ca: emulator.caCertPem },
    })
    // #endregion tokens

    // #region client
    // One client per org; it asks the provider for a token of the org's tenant whenever it needs one.
    const client = createDataverseClient({
      url: contoso.url,
      getToken: async (resource) =>
        (await tokens.getToken({ tenantId: defaultIds.contosoTenantId, resource })).token,
      ca: emulator.caCertPem,
    })
    // #endregion client

    // #region read
    const me = await client.whoAmI()
    log(`Signed in to Contoso as the application user ${me.userId}`)

    const page = await client.query<{ name: string; address1_city: string | null }>('accounts', {
      select: ['name', 'address1_city'],
      orderBy: 'name',
      top: 5,
    })
    for (const account of page.value) log(`- ${account.name} (${account.address1_city ?? 'no city'})`)
    // #endregion read

    return {
      orgUrl: contoso.url,
      applicationUserId: me.userId,
      accounts: page.value.map((a) => ({ name: a.name, city: a.address1_city })),
    }
  } finally {
    // #region stop
    await emulator.stop()
    // #endregion stop
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await quickstart()
}
