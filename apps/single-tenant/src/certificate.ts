import {
  type CertificateCredential,
  clientCertificate,
  type PreparedCertificate,
  prepareCertificate,
} from '@dataverse-s2s/core'
import type { AppConfig } from './config.ts'

/** The certificate credential of the configuration (core validates it up front: parseable, key matches, not expired). */
export function certificateCredential(config: AppConfig): CertificateCredential {
  return clientCertificate({
    certificate: config.certificatePem,
    privateKey: config.privateKeyPem,
    ...(config.privateKeyPassphrase ? { passphrase: config.privateKeyPassphrase } : {}),
  })
}

/** The certificate in the form MSAL signs its client assertions with (SHA-256 thumbprint, PKCS#8 key). */
export function loadCertificate(config: AppConfig): PreparedCertificate {
  return prepareCertificate(certificateCredential(config))
}
