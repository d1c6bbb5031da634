import type * as HttpsModule from 'node:https'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { DynamicsWebApi } from 'dynamics-web-api'
import { defaultIds, type EmulatorHandle, type StartEmulatorOptions, startEmulator } from '../index.ts'

const https = createRequire(import.meta.url)('node:https') as typeof HttpsModule

/**
 * An emulator and a dynamics-web-api client (a Dataverse Web API client we did not write) for the Contoso org,
 * configured only with the org URL and an msal-node token callback. `stop` undoes the process-wide trust.
 * @param options - the emulator's options (a seed with the tables a test needs); a random port by default
 */
export async function startWithDynamicsWebApi(options: StartEmulatorOptions = {}): Promise<{
  emulator: EmulatorHandle
  client: DynamicsWebApi
  stop(): Promise<void>
}> {
  const emulator = await startEmulator({ port: 0, ...options })
  const restoreFetch = emulator.trust.installGlobally()
  // dynamics-web-api makes its own https.Agent; trusting the emulator's CA there is the Node configuration it needs
  // (the same as NODE_EXTRA_CA_CERTS for a separate process)
  const OriginalAgent = https.Agent
  const ca = emulator.caCertPem
  ;(https as { Agent: typeof HttpsModule.Agent }).Agent = class extends OriginalAgent {
    constructor(options?: HttpsModule.AgentOptions) {
      super({ ...options, ca })
    }
  }
  syncBuiltinESMExports()
  const org = emulator.orgs.find((o) => o.id === defaultIds.contosoOrgId)
  if (!org) throw new Error('no Contoso org')
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: defaultIds.multiTenantAppId,
      clientSecret: defaultIds.multiTenantAppSecret,
      ...emulator.msalAuth(defaultIds.contosoTenantId),
    },
  })
  const client = new DynamicsWebApi({
    serverUrl: org.url,
    dataApi: { version: '9.2' },
    onTokenRefresh: async () =>
      (await cca.acquireTokenByClientCredential({ scopes: [`${org.url}/.default`] }))?.accessToken ?? null,
  })
  return {
    emulator,
    client,
    stop: async () => {
      ;(https as { Agent: typeof HttpsModule.Agent }).Agent = OriginalAgent
      syncBuiltinESMExports()
      restoreFetch()
      await emulator.stop()
    },
  }
}
