// What prepareCertificate tells the developer for each wrong certificate or key (the message says what to fix, the
// cause keeps only OpenSSL's error code), and the exact edges of the validity period.
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ecKey, encryptKey, makeCertificates } from '../test/helpers/certs.ts'
import { type CertificateCredential, clientCertificate, prepareCertificate } from './credentials.ts'
import { TokenError } from './errors.ts'

const [good] = await makeCertificates()

function refusal(credential: Partial<CertificateCredential>, now?: Date): TokenError {
  try {
    prepareCertificate(clientCertificate(credential as CertificateCredential), now)
  } catch (e) {
    expect(e).toBeInstanceOf(TokenError)
    expect((e as TokenError).code).toBe('INVALID_CREDENTIAL')
    return e as TokenError
  }
  throw new Error('the credential was accepted')
}

describe('prepareCertificate says what is wrong and what to do', () => {
  it('refuses a certificate that is not PEM text, or no text at all', () => {
    for (const certificate of ['MIIB...', undefined]) {
      const e = refusal({ certificate: certificate as string, privateKey: good.privateKeyPem })
      expect(e.message).toBe(
        'The certificate is not a PEM certificate: pass the text that starts with "-----BEGIN CERTIFICATE-----" (convert a .cer/.pfx with openssl first)',
      )
    }
  })

  it('refuses an incomplete certificate, keeping only the OpenSSL error code as the cause', () => {
    const e = refusal({
      certificate: `${good.certificatePem.slice(0, 200)}\n-----END CERTIFICATE-----`,
      privateKey: good.privateKeyPem,
    })
    expect(e.message).toBe('The certificate PEM could not be parsed; check that it is complete')
    expect((e.cause as Error).message).toMatch(/^Error: ERR_OSSL_[A-Z0-9_]+$/)
  })

  it('refuses a key that is not PEM text, or no text at all', () => {
    for (const privateKey of ['secret', undefined]) {
      const e = refusal({ certificate: good.certificatePem, privateKey: privateKey as string })
      expect(e.message).toBe(
        'The private key is not a PEM private key: pass the text that starts with "-----BEGIN PRIVATE KEY-----" (or RSA/ENCRYPTED PRIVATE KEY)',
      )
    }
  })

  it('tells an incomplete key from an encrypted one whose passphrase is wrong', () => {
    const broken = refusal({
      certificate: good.certificatePem,
      privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
    })
    expect(broken.message).toBe('The private key PEM could not be parsed; check that it is complete')
    expect((broken.cause as Error).message).toMatch(/^Error: ERR_OSSL_[A-Z0-9_]+$/)
    const encrypted = refusal({
      certificate: good.certificatePem,
      privateKey: encryptKey(good.privateKeyPem, 'right'),
      passphrase: 'wrong',
    })
    expect(encrypted.message).toBe(
      'The private key is encrypted and could not be decrypted: pass the right `passphrase`',
    )
    expect((encrypted.cause as Error).message).toMatch(/^Error: ERR_OSSL_[A-Z0-9_]+$/)
  })

  it('names the key type it got when the key is not RSA', () => {
    const e = refusal({ certificate: good.certificatePem, privateKey: ecKey() })
    expect(e.message).toBe('The private key is ec; Entra ID certificate credentials need an RSA key')
  })

  it('accepts the certificate from the first to the last instant of its validity period', () => {
    const cert = new X509Certificate(good.certificatePem)
    const credential = clientCertificate({ certificate: good.certificatePem, privateKey: good.privateKeyPem })
    const from = new Date(cert.validFrom)
    const to = new Date(cert.validTo)
    expect(prepareCertificate(credential, from).notAfter).toEqual(to)
    expect(prepareCertificate(credential, to).notAfter).toEqual(to)
    expect(refusal(credential, new Date(from.getTime() - 1)).message).toBe(
      `The certificate is not valid before ${from.toISOString()}; use a certificate that is valid now`,
    )
    expect(refusal(credential, new Date(to.getTime() + 1)).message).toBe(
      `The certificate expired on ${to.toISOString()}; upload a new certificate to the app registration and use it here`,
    )
  })
})
