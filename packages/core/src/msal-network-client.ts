import type { INetworkModule } from '@azure/msal-node'
import type { HttpOptions } from './http-options.ts'
import { createMsalNetworkModule } from './internal/msal-network.ts'

/**
 * MSAL's network module on this package's HTTP path, for an MSAL client you build yourself (e.g. the authorization
 * code flow of a web app): it trusts `http.ca` besides Node's roots (the emulator's CA, a TLS-inspecting proxy's) and
 * limits every request to `http.timeoutMs`, exactly as the token provider does. Pass it as `system.networkClient`.
 * @param http `ca` (PEM, default none) and `timeoutMs` (default 10,000)
 * @example
 * import { readFileSync } from 'node:fs'
 * import { ConfidentialClientApplication } from '@azure/msal-node'
 * const cca = new ConfidentialClientApplication({
 *   auth: { clientId, clientSecret: process.env.CLIENT_SECRET! },
 *   system: { networkClient: createMsalNetworkClient({ ca: readFileSync('emulator-ca.pem', 'utf8') }) },
 * })
 */
export function createMsalNetworkClient(http: HttpOptions = {}): INetworkModule {
  const { sendGetRequestAsync, sendPostRequestAsync } = createMsalNetworkModule(http)
  return { sendGetRequestAsync, sendPostRequestAsync }
}
