import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ecKey, encryptKey, makeCertificates } from '../test/helpers/certs.ts'
import { clientCertificate, prepareCertificate } from './credentials.ts'
import { TokenError } from './errors.ts'

const [good, other] = await makeCertificates()

describe('prepareCertificate', () => {
  it('computes the SHA-256 thumbprint of the DER certificate and a PKCS#8 key', () => {
    const p = prepareCertificate(
      clientCertificate({ certificate: good.certificatePem, privateKey: good.privateKeyPem }),
    )
    const der = new X509Certificate(good.certificatePem).raw
    expect(p.thumbprintSha256).toBe(createHash('sha256').update(der).digest('hex'))
    expect(p.privateKeyPkcs8).toContain('BEGIN PRIVATE KEY')
    expect(p.x5c).toBeUndefined()
    expect(p.subject).toContain('Litware Connector')
  })

  it('sends x5c only when asked', () => {
    const p = prepareCertificate(
      clientCertificate({ certificate: good.certificatePem, privateKey: good.privateKeyPem, sendX5c: true }),
    )
    expect(p.x5c).toBe(good.certificatePem)
  })

  it('accepts a PKCS#1 key and an encrypted key with its passphrase', () => {
    const pkcs1 = createPrivateKey(good.privateKeyPem).export({ format: 'pem', type: 'pkcs1' }).toString()
    expect(
      prepareCertificate(clientCertificate({ certificate: good.certificatePem, privateKey: pkcs1 }))
        .thumbprintSha256,
    ).toHaveLength(64)
    const enc = {
      certificatePem: good.certificatePem,
      privateKeyPem: encryptKey(good.privateKeyPem, 'pass-word-1'),
    }
    expect(
      prepareCertificate(
        clientCertificate({
          certificate: enc.certificatePem,
          privateKey: enc.privateKeyPem,
          passphrase: 'pass-word-1',
        }),
      ).privateKeyPkcs8,
    ).toContain('BEGIN PRIVATE KEY')
    expect(() =>
      prepareCertificate(
        clientCertificate({
          certificate: enc.certificatePem,
          privateKey: enc.privateKeyPem,
          passphrase: 'wrong',
        }),
      ),
    ).toThrow(/passphrase/)
  })

  const cases: [string, () => unknown, RegExp][] = [
    [
      'a key from another certificate',
      () =>
        prepareCertificate(
          clientCertificate({ certificate: good.certificatePem, privateKey: other.privateKeyPem }),
        ),
      /does not belong/,
    ],
    [
      'no PEM certificate',
      () => prepareCertificate(clientCertificate({ certificate: 'MIIB...', privateKey: good.privateKeyPem })),
      /not a PEM certificate/,
    ],
    [
      'a truncated certificate',
      () =>
        prepareCertificate(
          clientCertificate({
            certificate: good.certificatePem.slice(0, 200) + '\n-----END CERTIFICATE-----',
            privateKey: good.privateKeyPem,
          }),
        ),
      /could not be parsed/,
    ],
    [
      'no PEM key',
      () => prepareCertificate(clientCertificate({ certificate: good.certificatePem, privateKey: 'secret' })),
      /not a PEM private key/,
    ],
    [
      'an expired certificate',
      () =>
        prepareCertificate(
          clientCertificate({ certificate: good.certificatePem, privateKey: good.privateKeyPem }),
          new Date(Date.now() + 3 * 365 * 86_400_000),
        ),
      /expired on/,
    ],
    [
      'a certificate not valid yet',
      () =>
        prepareCertificate(
          clientCertificate({ certificate: good.certificatePem, privateKey: good.privateKeyPem }),
          new Date(Date.now() - 86_400_000),
        ),
      /not valid before/,
    ],
  ]
  it.each(cases)('refuses %s with INVALID_CREDENTIAL', (_name, run, message) => {
    let error: unknown
    try {
      run()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TokenError)
    expect(error).toMatchObject({ code: 'INVALID_CREDENTIAL' })
    expect((error as Error).message).toMatch(message)
    for (const line of [...good.privateKeyPem.split('\n'), ...other.privateKeyPem.split('\n')].filter(
      (l) => l.length > 40,
    )) {
      expect((error as Error).message).not.toContain(line)
    }
  })

  it('refuses a non-RSA key', () => {
    expect(() =>
      prepareCertificate(clientCertificate({ certificate: good.certificatePem, privateKey: ecKey() })),
    ).toThrow(/RSA/)
  })
})
