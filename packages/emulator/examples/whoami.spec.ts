import { ConfidentialClientApplication } from '@azure/msal-node'
import { defaultIds } from '@dataverse-s2s/emulator'
import { expect, inject, it } from 'vitest'

it('gets a token from the emulator and calls WhoAmI', async () => {
  const emulator = inject('emulator')
  const org = emulator.orgs.find((o) => o.tenantId === defaultIds.contosoTenantId)!
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: defaultIds.multiTenantAppId,
      clientSecret: defaultIds.multiTenantAppSecret,
      authority: `${emulator.url}/${defaultIds.contosoTenantId}`,
      knownAuthorities: [emulator.authorityHost],
    },
  })
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] })
  const res = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
    headers: { authorization: `Bearer ${result!.accessToken}` },
  })
  expect(res.status).toBe(200)
})
