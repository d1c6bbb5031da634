import { readFile } from 'node:fs/promises'
import { type CloudInput, clientAssertion, createTokenProvider } from '@dataverse-s2s/core'

export interface AssertionExampleConfig {
  clientId: string
  tenantId: string
  orgUrl: string
  /** A file kept fresh by the platform, e.g. AZURE_FEDERATED_TOKEN_FILE in Kubernetes workload identity. */
  federatedTokenFile: string
  cloud?: CloudInput
  ca?: string
}

export async function assertionExample(config: AssertionExampleConfig): Promise<string> {
  // #region assertion
  const tokens = createTokenProvider({
    clientId: config.clientId,
    // Workload identity federation: the platform writes a signed JWT to a file; read it on every token request.
    credential: clientAssertion(async () => (await readFile(config.federatedTokenFile, 'utf8')).trim()),
    // #endregion assertion
    ...(config.cloud ? { cloud: config.cloud } : {}),
    ...(config.ca ? { http: { ca: config.ca } } : {}),
    // #region assertion
  })
  const { token } = await tokens.getToken({ tenantId: config.tenantId, resource: config.orgUrl })
  // #endregion assertion
  return token
}
