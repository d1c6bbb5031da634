import { createPrivateKey, X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  certificateCredential,
  generateCa,
  generateSelfSignedCertificate,
  generateServerCertificate,
  sharedSelfSignedCertificate,
} from './certificates.ts'

describe('certificates', () => {
  it('issues a localhost server certificate that chains to the generated CA', async () => {
    const ca = await generateCa('Test CA')
    const server = await generateServerCertificate(ca)
    const caCert = new X509Certificate(ca.certificatePem)
    const cert = new X509Certificate(server.certificatePem)
    expect(caCert.ca).toBe(true)
    expect(cert.ca).toBe(false)
    expect(cert.verify(caCert.publicKey)).toBe(true)
    expect(cert.checkIssued(caCert)).toBe(true)
    expect(cert.checkHost('localhost')).toBe('localhost')
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(cert.checkIP('::1')).toBe('::1')
    expect(cert.subjectAltName).toContain('DNS:localhost')
    expect(cert.checkPrivateKey(createPrivateKey(server.privateKeyPem))).toBe(true)
  })

  it('computes the thumbprints MSAL and Entra use', async () => {
    const pair = await generateSelfSignedCertificate('App')
    const cred = certificateCredential(pair.certificatePem)
    const cert = new X509Certificate(pair.certificatePem)
    expect(cred.thumbprintSha1Hex).toBe(cert.fingerprint.replaceAll(':', ''))
    expect(cred.thumbprintSha256Hex).toBe(cert.fingerprint256.replaceAll(':', ''))
    expect(Buffer.from(cred.thumbprintSha1, 'base64url').toString('hex').toUpperCase()).toBe(
      cred.thumbprintSha1Hex,
    )
    expect(cert.verify(cert.publicKey)).toBe(true)
  })

  it('shares initial key material per key (and never across keys)', async () => {
    const a = await sharedSelfSignedCertificate('test-key-a', 'A')
    const again = await sharedSelfSignedCertificate('test-key-a', 'A')
    const b = await sharedSelfSignedCertificate('test-key-b', 'B')
    expect(again.certificatePem).toBe(a.certificatePem)
    expect(b.certificatePem).not.toBe(a.certificatePem)
    expect(new X509Certificate(a.certificatePem).subject).toBe('CN=A')
    expect(new X509Certificate(a.certificatePem).checkPrivateKey(createPrivateKey(a.privateKeyPem))).toBe(
      true,
    )
  })
})
