import { randomUUID } from 'node:crypto'
import { clientCertificate, type PreparedCertificate, prepareCertificate } from '@dataverse-s2s/core'
import { importPKCS8, SignJWT } from 'jose'
import type { AppConfig } from './config.ts'

/** The certificate of the configuration, checked up front (parseable, key matches, not expired). */
export function loadCertificate(config: AppConfig): PreparedCertificate {
  return prepareCertificate(
    clientCertificate({
      certificate: config.certificatePem,
      privateKey: config.privateKeyPem,
      ...(config.privateKeyPassphrase ? { passphrase: config.privateKeyPassphrase } : {}),
    }),
  )
}

/**
 * Signs a fresh client assertion (private_key_jwt) with the app's certificate for every token request:
 * PS256 with the `x5t#S256` thumbprint, `aud` = the token endpoint, `iss` = `sub` = the client id, a new `jti`,
 * valid for 5 minutes (entra-docs certificate-credentials.md).
 *
 * Why not MSAL's own `clientCertificate`: MSAL signs one assertion and reuses it for every request to the same
 * token endpoint until it expires. The emulator refuses a `jti` it has already seen (AADSTS50027), so a second
 * environment of the same tenant, or a second sign-in within 10 minutes, would fail there. A fresh assertion
 * per request is valid everywhere.
 */
export function createCertificateAssertion(config: AppConfig, certificate: PreparedCertificate) {
  const key = importPKCS8(certificate.privateKeyPkcs8, 'PS256')
  const x5tS256 = Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url')
  const fallbackEndpoint = `${config.authorityHost}/${config.tenantId}/oauth2/v2.0/token`
  return async (context: { clientId: string; tokenEndpoint?: string | undefined }): Promise<string> => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({})
      .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': x5tS256 })
      .setIssuer(context.clientId)
      .setSubject(context.clientId)
      .setAudience(context.tokenEndpoint ?? fallbackEndpoint)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(await key)
  }
}
