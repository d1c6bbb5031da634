import { type CloudInput, clientSecret, createTokenProvider } from '@dataverse-s2s/core'

export interface SecretExampleConfig {
  clientId: string
  clientSecret: string
  tenantId: string
  orgUrl: string
  /** Only for the emulator; real apps omit both. */
  cloud?: CloudInput
  ca?: string
}

export async function secretExample(config: SecretExampleConfig): Promise<string> {
  // #region secret
  const tokens = createTokenProvider({
    clientId: config.clientId,
    credential: clientSecret(config.clientSecret),
    // #endregion secret
    ...(config.cloud ? { cloud: config.cloud } : {}),
    ...(config.ca ? { http: { ca: config.ca } } : {}),
    // #region secret
  })
  const { token, expiresOn } = await tokens.getToken({ tenantId: config.tenantId, resource: config.orgUrl })
  console.log(`token for ${config.orgUrl} valid until ${expiresOn.toISOString()}`)
  // #endregion secret
  return token
}
