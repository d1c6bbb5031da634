import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificate {
  certificatePem: string
  privateKeyPem: string
}

/** A self-signed certificate + key made with the system's openssl (`rsa` by default, or an EC key). */
export function makeCertificate(
  options: { ec?: boolean; days?: number; encryptWith?: string } = {},
): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'core-cert-'))
  try {
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    const newkey = options.ec
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
      : ['-newkey', 'rsa:2048']
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newkey,
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=core-test',
        '-days',
        String(options.days ?? 30),
      ],
      { stdio: 'ignore' },
    )
    let privateKeyPem = readFileSync(key, 'utf8')
    if (options.encryptWith) {
      const enc = join(dir, 'enc.pem')
      execFileSync(
        'openssl',
        ['pkcs8', '-topk8', '-in', key, '-out', enc, '-passout', `pass:${options.encryptWith}`],
        {
          stdio: 'ignore',
        },
      )
      privateKeyPem = readFileSync(enc, 'utf8')
    }
    return { certificatePem: readFileSync(cert, 'utf8'), privateKeyPem }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
