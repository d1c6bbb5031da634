import { type CloudInput, createUserTokenVerifier, VerificationError } from '@dataverse-s2s/core'

export interface VerifyExampleConfig {
  apiClientId: string
  onboardedTenants: Set<string>
  cloud?: CloudInput
  ca?: string
}

export function verifyExample(config: VerifyExampleConfig) {
  // #region verify
  const verifier = createUserTokenVerifier({
    audience: [config.apiClientId, `api://${config.apiClientId}`],
    isTenantAllowed: (tenantId) => config.onboardedTenants.has(tenantId),
    requiredScopes: ['access_as_user'],
    // #endregion verify
    ...(config.cloud ? { cloud: config.cloud } : {}),
    ...(config.ca ? { http: { ca: config.ca } } : {}),
    // #region verify
  })

  async function authenticate(authorization: string | undefined) {
    try {
      const user = await verifier.verify(authorization ?? '')
      return { status: 200, user } // user.tenantId picks the customer's org; user.objectId is the user
    } catch (error) {
      if (error instanceof VerificationError) {
        return {
          status: error.code === 'TENANT_NOT_ALLOWED' || error.code === 'INSUFFICIENT_SCOPE' ? 403 : 401,
          code: error.code,
        }
      }
      throw error
    }
  }
  // #endregion verify
  return authenticate
}
