import { type Cloud, createUserTokenVerifier, VerificationError } from '@dataverse-s2s/core'

export function makeVerifier(clientId: string, cloud: Cloud, ca: string, onboarded: Set<string>) {
  // #region verifier
  const verifier = createUserTokenVerifier({
    audience: [clientId, `api://${clientId}`], // your API's client id and App ID URI
    cloud, // whose JWKS and issuer template to use (default: public)
    http: { ca }, // emulator only
    requiredScopes: ['access_as_user'],
    tokenVersions: ['2.0'], // the default; ['1.0', '2.0'] while your API's manifest leaves requestedAccessTokenVersion null
    isTenantAllowed: (tenantId) => onboarded.has(tenantId), // your registry: onboarded and active tenants only
  })
  // #endregion verifier
  return verifier
}

export async function authenticate(
  verifier: ReturnType<typeof makeVerifier>,
  authorization: string | undefined,
) {
  // #region verify-user
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1]
  if (!token) return { status: 401 as const }
  try {
    const user = await verifier.verify(token)
    // user.tenantId and user.objectId identify the person: use them, never `sub` or the UPN's domain.
    return { status: 200 as const, user }
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error
    const forbidden = error.code === 'TENANT_NOT_ALLOWED' || error.code === 'INSUFFICIENT_SCOPE'
    return { status: forbidden ? (403 as const) : (401 as const), code: error.code }
  }
  // #endregion verify-user
}
