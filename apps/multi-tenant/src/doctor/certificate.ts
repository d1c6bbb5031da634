import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { splitPem } from '../server/services.ts'
import type { CheckResult } from './report.ts'

const DAY = 86_400_000
/** A certificate closer to its end than this gets a warning: time to upload the next one. */
const WARN_DAYS = 30

/**
 * Step 6: the certificate of `ENTRA_CERTIFICATE_PATH` parses (node:crypto `X509Certificate`), its private key belongs
 * to it, and it is valid now; fewer than 30 days left is a warning. Skipped with a client secret.
 */
export function checkCertificate(
  pem: string | undefined,
  path: string | undefined,
  now: Date = new Date(),
): CheckResult {
  const step = 'certificate'
  if (pem === undefined)
    return { step, status: 'skip', detail: 'a client secret is configured, no certificate' }
  const file = path ?? 'ENTRA_CERTIFICATE_PATH'
  let parts: { certificate: string; privateKey: string }
  try {
    parts = splitPem(pem)
  } catch {
    return {
      step,
      status: 'fail',
      detail: `${file} does not hold both a certificate and a private key`,
      fix: 'put the private key (-----BEGIN PRIVATE KEY-----) and the certificate (-----BEGIN CERTIFICATE-----) in one PEM file, e.g. cat app.key app.crt > app.pem',
    }
  }
  let cert: X509Certificate
  try {
    cert = new X509Certificate(parts.certificate)
  } catch {
    return {
      step,
      status: 'fail',
      detail: `the certificate in ${file} does not parse`,
      fix: 'export the certificate again as PEM (openssl x509 -in app.cer -inform der -out app.crt for a .cer)',
    }
  }
  let key: KeyObject
  try {
    key = createPrivateKey(parts.privateKey)
  } catch {
    return {
      step,
      status: 'fail',
      detail: `the private key in ${file} does not parse (or is encrypted)`,
      fix: 'store the key unencrypted in PEM: openssl pkey -in app.key -out app-plain.key',
    }
  }
  const name = `"${cert.subject.replace(/\n/g, ', ')}" (SHA-1 ${createHash('sha1').update(cert.raw).digest('hex').toUpperCase()})`
  if (!cert.checkPrivateKey(key)) {
    return {
      step,
      status: 'fail',
      detail: `the private key in ${file} does not belong to the certificate ${name}`,
      fix: 'put the key the certificate was made from next to it in the PEM file (compare: openssl x509 -noout -pubkey -in app.pem and openssl pkey -pubout -in app.pem)',
    }
  }
  const from = new Date(cert.validFrom)
  const to = new Date(cert.validTo)
  const renew =
    'create a new certificate, upload it to the app registration under Certificates & secrets, and point ENTRA_CERTIFICATE_PATH at it'
  if (now < from) {
    return {
      step,
      status: 'fail',
      detail: `the certificate ${name} is not valid before ${from.toISOString()}`,
      fix: `wait until then, or ${renew}`,
    }
  }
  if (now >= to) {
    return {
      step,
      status: 'fail',
      detail: `the certificate ${name} expired on ${to.toISOString()}`,
      fix: renew,
    }
  }
  const days = Math.floor((to.getTime() - now.getTime()) / DAY)
  if (days < WARN_DAYS) {
    return {
      step,
      status: 'warn',
      detail: `the certificate ${name} expires in ${days} day${days === 1 ? '' : 's'} (${to.toISOString()})`,
      fix: `${renew}, before it expires (the registration can hold both during the switch)`,
    }
  }
  return {
    step,
    status: 'ok',
    detail: `${name}, key matches, valid until ${to.toISOString()} (${days} days)`,
  }
}
