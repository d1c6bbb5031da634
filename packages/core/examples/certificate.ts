import { readFile } from 'node:fs/promises'
import { type CloudInput, clientCertificate, createTokenProvider } from '@dataverse-s2s/core'

export interface CertificateExampleConfig {
  clientId: string
  /** Paths of the PEM files. */
  certificatePath: string
  privateKeyPath: string
  tenantId: string
  orgUrl: string
  cloud?: CloudInput
  ca?: string
}

export async function certificateExample(config: CertificateExampleConfig): Promise<string> {
  // #region certificate
  const tokens = createTokenProvider({
    clientId: config.clientId,
    // The SHA-256 thumbprint is computed from the certificate; a key that does not match it, an expired
    // certificate or a non-RSA key is refused here, before any request.
    credential: clientCertificate({
      certificate: await readFile(config.certificatePath, 'utf8'),
      privateKey: await readFile(config.privateKeyPath, 'utf8'),
      // sendX5c: true, // for subject name + issuer authentication
    }),
    // #endregion certificate
    ...(config.cloud ? { cloud: config.cloud } : {}),
    ...(config.ca ? { http: { ca: config.ca } } : {}),
    // #region certificate
  })
  const { token } = await tokens.getToken({ tenantId: config.tenantId, resource: config.orgUrl })
  // #endregion certificate
  return token
}
