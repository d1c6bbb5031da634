import {
  clientAssertion,
  clientCertificate,
  clientSecret,
  createMemoryTokenStore,
  createTokenProvider,
  managedIdentityFederation,
  TokenError,
  type TokenProvider,
} from '@dataverse-s2s/core'
import { importPKCS8, SignJWT } from 'jose'
import type { Setup } from './setup.ts'

/** A provider with a client secret, asking Contoso's tenant for a token for Contoso's org. */
export async function withSecret(setup: Setup) {
  const { clientId, cloud, ca, contoso } = setup
  // #region secret
  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(setup.clientSecret), // from your secret store, never from source code
    cloud, // omit on Microsoft's public cloud
    http: { ca }, // only for the emulator's self-made CA
  })

  const { token, expiresOn } = await tokens.getToken({
    tenantId: contoso.tenantId, // the customer's tenant, never 'common' or 'organizations'
    resource: contoso.orgUrl, // the org URL; the scope becomes `${orgUrl}/.default`
  })
  // #endregion secret
  return { tokens, token, expiresOn }
}

/** A provider with a certificate: the thumbprint is computed from the certificate, the key checked up front. */
export async function withCertificate(setup: Setup) {
  const { clientId, cloud, ca, contoso } = setup
  const { certificatePem, privateKeyPem } = setup.certificate
  // #region certificate
  const tokens = createTokenProvider({
    clientId,
    credential: clientCertificate({
      certificate: certificatePem, // PEM, the leaf first
      privateKey: privateKeyPem, // PEM (PKCS#8 or PKCS#1; add `passphrase` if it is encrypted)
    }),
    cloud,
    http: { ca },
  })
  // #endregion certificate
  return tokens.getToken({ tenantId: contoso.tenantId, resource: contoso.orgUrl })
}

/**
 * A client-assertion callback: the provider asks it for a signed JWT whenever it needs a token. In workload identity
 * federation the JWT comes from another identity provider; here it is signed with a key held elsewhere.
 */
export async function withAssertion(setup: Setup) {
  const { clientId, cloud, ca, contoso } = setup
  const key = await importPKCS8(setup.certificate.privateKeyPem, 'PS256')
  const thumbprint = setup.emulator.apps.find((a) => a.appId === clientId)!.certificates[0]!.thumbprintSha256
  // #region assertion
  const tokens = createTokenProvider({
    clientId,
    credential: clientAssertion(async ({ tokenEndpoint }) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': thumbprint })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(tokenEndpoint!)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key),
    ),
    cloud,
    http: { ca },
  })
  // #endregion assertion
  return tokens.getToken({ tenantId: contoso.tenantId, resource: contoso.orgUrl })
}

/**
 * A managed identity as the app's federated credential: no secret, no certificate, tokens in any customer tenant.
 * The app runs where IDENTITY_ENDPOINT / IDENTITY_HEADER (App Service, Functions, Container Apps) or IMDS serve the
 * identity; the app registration has a federated identity credential naming the identity.
 */
export async function withManagedIdentityFederation(setup: Setup, managedIdentityClientId: string) {
  const { clientId, cloud, ca, contoso } = setup
  // #region mi-federation
  const tokens = createTokenProvider({
    clientId, // the multi-tenant app registration
    // the user-assigned identity's client id; omit it for the system-assigned identity
    credential: managedIdentityFederation({ clientId: managedIdentityClientId }),
    cloud,
    http: { ca },
  })
  const { token } = await tokens.getToken({ tenantId: contoso.tenantId, resource: contoso.orgUrl })
  // #endregion mi-federation
  return token
}

/** Many callers at once for a cold key share one token request. */
export async function singleFlight(tokens: TokenProvider, setup: Setup) {
  const { contoso } = setup
  // #region single-flight
  const request = { tenantId: contoso.tenantId, resource: contoso.orgUrl }
  const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken(request)))
  const { requests, hits, misses } = tokens.stats() // counters for your metrics
  // #endregion single-flight
  return { results, requests, hits, misses }
}

/** Several instances of an app share tokens through a second-level store. */
export async function sharedStore(setup: Setup) {
  const { clientId, cloud, ca, contoso } = setup
  // #region shared-store
  // In production: an object with get/set/delete on Redis or a KV store. Keys hold no secret, values are tokens.
  const store = createMemoryTokenStore()
  const options = {
    clientId,
    credential: clientSecret(setup.clientSecret),
    cloud,
    http: { ca },
    cache: { store },
  }
  const instanceA = createTokenProvider(options)
  const instanceB = createTokenProvider(options)

  const request = { tenantId: contoso.tenantId, resource: contoso.orgUrl }
  const a = await instanceA.getToken(request) // asks Entra ID, writes the store
  const b = await instanceB.getToken(request) // served from the store
  // #endregion shared-store
  return { a, b, requestsA: instanceA.stats().requests, requestsB: instanceB.stats().requests }
}

/** The error a multi-tenant app meets first: the customer has not consented yet. */
export async function missingConsent(setup: Setup) {
  const { clientId, cloud, ca, fabrikam } = setup
  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(setup.clientSecret),
    cloud,
    http: { ca },
    consentRedirectUri: 'http://localhost:3000/onboarding/callback',
  })
  // #region missing-consent
  try {
    await tokens.getToken({ tenantId: fabrikam.tenantId, resource: fabrikam.orgUrl })
  } catch (error) {
    if (error instanceof TokenError && error.code === 'APP_NOT_FOUND_IN_TENANT') {
      // "The app … has no service principal in tenant …: an administrator of that tenant must consent …"
      return { message: error.message, consentUrl: error.details.consentUrl }
    }
    throw error
  }
  // #endregion missing-consent
  throw new Error('expected the token request to fail')
}
