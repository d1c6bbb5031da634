import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { TokenError } from './errors.ts'

/** A client secret from the app registration's "Certificates & secrets". */
export interface SecretCredential {
  readonly kind: 'secret'
  readonly secret: string
}

/** A certificate uploaded to the app registration, with its private key. */
export interface CertificateCredential {
  readonly kind: 'certificate'
  /** PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, PKCS#1 `BEGIN RSA PRIVATE KEY`, or encrypted with `passphrase`). */
  readonly privateKey: string
  /** PEM certificate (the leaf first; a chain may follow, for `sendX5c`). */
  readonly certificate: string
  /** Passphrase of an encrypted private key. */
  readonly passphrase?: string
  /** Send the certificate chain (`x5c`) for subject-name/issuer authentication (default false). */
  readonly sendX5c?: boolean
}

/** What a client-assertion callback is told about the request it signs for. */
export interface AssertionContext {
  clientId: string
  /** The token endpoint the assertion's `aud` must name. */
  tokenEndpoint?: string
}

/**
 * A client assertion (a signed JWT) obtained from elsewhere, e.g. a Kubernetes or GitHub token for workload
 * identity federation. Called for each token request; return a fresh assertion.
 */
export interface AssertionCredential {
  readonly kind: 'assertion'
  readonly getAssertion: (context: AssertionContext) => Promise<string> | string
}

/** An Azure managed identity (system-assigned, or user-assigned by one of its ids), through MSAL. */
export interface ManagedIdentityCredential {
  readonly kind: 'managedIdentity'
  readonly clientId?: string
  readonly resourceId?: string
  readonly objectId?: string
}

/**
 * A managed identity used as a federated identity credential of the (multi-tenant) app registration: the provider
 * gets the managed identity's token for the token-exchange audience and presents it as the app's client assertion,
 * so the app gets tokens in ANY consenting customer tenant with no secret and no certificate. The app registration
 * must trust the managed identity (a federated identity credential with issuer
 * `{authorityHost}/{tenant of the identity}/v2.0`, subject = the identity's object (principal) id, audience
 * `api://AzureADTokenExchange`).
 * Learn: "Configure an application to trust a managed identity" (workload-identity-federation-config-app-trust-managed-identity).
 *
 * A separate kind rather than an option of {@link managedIdentity}: that one's tokens are the identity's own and
 * work only in the identity's tenant (one tenant, no `tenantId`), this one's tokens are the app's, per tenant.
 */
export interface ManagedIdentityFederationCredential {
  readonly kind: 'managedIdentityFederation'
  /** Client id of a user-assigned managed identity; omit for the system-assigned one. */
  readonly clientId?: string
  /**
   * The token-exchange audience the FIC lists. Default per cloud: `api://AzureADTokenExchange` (public, GCC),
   * `api://AzureADTokenExchangeUSGov` (GCC High, DoD), `api://AzureADTokenExchangeChina` (China).
   */
  readonly audience?: string
}

/** How the app proves who it is to Entra ID. Build one with the helpers or as a literal. */
export type Credential =
  | SecretCredential
  | CertificateCredential
  | AssertionCredential
  | ManagedIdentityCredential
  | ManagedIdentityFederationCredential

/**
 * A client-secret credential.
 * @example
 * createTokenProvider({ clientId, credential: clientSecret(process.env.CLIENT_SECRET!) })
 */
export function clientSecret(secret: string): SecretCredential {
  return { kind: 'secret', secret }
}

/**
 * A certificate credential; see {@link CertificateCredential}. Validated when the provider is created.
 * @example
 * import { readFileSync } from 'node:fs'
 * const credential = clientCertificate({
 *   certificate: readFileSync('app.crt.pem', 'utf8'),
 *   privateKey: readFileSync('app.key.pem', 'utf8'),
 * })
 * const tokens = createTokenProvider({ clientId, credential })
 */
export function clientCertificate(options: Omit<CertificateCredential, 'kind'>): CertificateCredential {
  return { kind: 'certificate', ...options }
}

/**
 * A client-assertion credential (workload identity federation); see {@link AssertionCredential}.
 * @example
 * import { readFile } from 'node:fs/promises'
 * // A federated token the platform gives the workload (Kubernetes workload identity writes it to a file).
 * const credential = clientAssertion(() => readFile(process.env.AZURE_FEDERATED_TOKEN_FILE!, 'utf8'))
 * const tokens = createTokenProvider({ clientId, credential })
 */
export function clientAssertion(getAssertion: AssertionCredential['getAssertion']): AssertionCredential {
  return { kind: 'assertion', getAssertion }
}

/**
 * A managed-identity credential: system-assigned without options, else user-assigned by one id.
 * @example
 * // Single-tenant: the app's own tenant only. For customer tenants, see managedIdentityFederation.
 * const tokens = createTokenProvider({ clientId, tenantId, credential: managedIdentity({ clientId: process.env.AZURE_CLIENT_ID! }) })
 */
export function managedIdentity(
  options: Omit<ManagedIdentityCredential, 'kind'> = {},
): ManagedIdentityCredential {
  return { kind: 'managedIdentity', ...options }
}

/**
 * A managed identity as the app's federated credential; see {@link ManagedIdentityFederationCredential}.
 * @example
 * // clientId: the multi-tenant app registration; the user-assigned managed identity is one of its federated credentials
 * createTokenProvider({ clientId, credential: managedIdentityFederation({ clientId: process.env.AZURE_CLIENT_ID! }) })
 */
export function managedIdentityFederation(
  options: Omit<ManagedIdentityFederationCredential, 'kind'> = {},
): ManagedIdentityFederationCredential {
  return { kind: 'managedIdentityFederation', ...options }
}

/**
 * The token-exchange audience of a cloud (Learn: workload-identity-federation-config-app-trust-managed-identity).
 * @example
 * tokenExchangeAudience('gcc-high') // 'api://AzureADTokenExchangeUSGov'
 */
export function tokenExchangeAudience(cloudName: string): string {
  if (cloudName === 'gcc-high' || cloudName === 'dod') return 'api://AzureADTokenExchangeUSGov'
  if (cloudName === 'china') return 'api://AzureADTokenExchangeChina'
  return 'api://AzureADTokenExchange'
}

/** What MSAL needs for a certificate, computed and checked up front. */
export interface PreparedCertificate {
  /** Hex SHA-256 thumbprint of the DER certificate. */
  thumbprintSha256: string
  /** Unencrypted PKCS#8 PEM, the form MSAL signs with. */
  privateKeyPkcs8: string
  /** The certificate chain PEM, when x5c is sent. */
  x5c?: string
  notAfter: Date
  subject: string
}

/**
 * Reads a certificate credential and checks it before any request: a parseable PEM certificate, a parseable RSA
 * private key that belongs to it, and a validity period that includes `now`.
 * @throws TokenError `INVALID_CREDENTIAL` with a message that says what to fix (never the key material)
 * @example
 * import { readFileSync } from 'node:fs'
 * const certificate = prepareCertificate(
 *   clientCertificate({ certificate: readFileSync('app.crt.pem', 'utf8'), privateKey: readFileSync('app.key.pem', 'utf8') }),
 * )
 * console.log(`certificate ${certificate.subject} expires on ${certificate.notAfter.toISOString()}`)
 */
export function prepareCertificate(
  credential: CertificateCredential,
  now: Date = new Date(),
): PreparedCertificate {
  const { certificate, privateKey } = credential
  if (typeof certificate !== 'string' || !certificate.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      'The certificate is not a PEM certificate: pass the text that starts with "-----BEGIN CERTIFICATE-----" (convert a .cer/.pfx with openssl first)',
    )
  }
  let cert: X509Certificate
  try {
    const first = certificate.slice(certificate.indexOf('-----BEGIN CERTIFICATE-----'))
    cert = new X509Certificate(first)
  } catch (cause) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      'The certificate PEM could not be parsed; check that it is complete',
      {
        cause: stripCause(cause),
      },
    )
  }
  if (typeof privateKey !== 'string' || !/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(privateKey)) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      'The private key is not a PEM private key: pass the text that starts with "-----BEGIN PRIVATE KEY-----" (or RSA/ENCRYPTED PRIVATE KEY)',
    )
  }
  let key: KeyObject
  try {
    key = createPrivateKey(
      credential.passphrase !== undefined
        ? { key: privateKey, passphrase: credential.passphrase }
        : privateKey,
    )
  } catch (cause) {
    const encrypted = privateKey.includes('ENCRYPTED')
    throw new TokenError(
      'INVALID_CREDENTIAL',
      encrypted
        ? 'The private key is encrypted and could not be decrypted: pass the right `passphrase`'
        : 'The private key PEM could not be parsed; check that it is complete',
      { cause: stripCause(cause) },
    )
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      `The private key is ${key.asymmetricKeyType ?? 'not asymmetric'}; Entra ID certificate credentials need an RSA key`,
    )
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      `The private key does not belong to the certificate "${cert.subject.replace(/\n/g, ', ')}" (SHA-256 ${thumbprint(cert)}): pass the key the certificate was made from`,
    )
  }
  const notBefore = new Date(cert.validFrom)
  const notAfter = new Date(cert.validTo)
  if (now < notBefore) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      `The certificate is not valid before ${notBefore.toISOString()}; use a certificate that is valid now`,
    )
  }
  if (now > notAfter) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      `The certificate expired on ${notAfter.toISOString()}; upload a new certificate to the app registration and use it here`,
    )
  }
  const prepared: PreparedCertificate = {
    thumbprintSha256: thumbprint(cert),
    privateKeyPkcs8: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    notAfter,
    subject: cert.subject.replace(/\n/g, ', '),
  }
  if (credential.sendX5c) prepared.x5c = certificate
  return prepared
}

function thumbprint(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase()
}

// OpenSSL's messages do not contain key material, but keep only name + message to be sure nothing else travels
function stripCause(cause: unknown): Error {
  const e = cause instanceof Error ? cause : new Error(String(cause))
  return new Error(`${e.name}: ${(e as { code?: string }).code ?? e.message.slice(0, 120)}`)
}
