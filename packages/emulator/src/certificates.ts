import {
  createHash,
  createPrivateKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { CertificateCredential } from './world/types.ts'

// A minimal DER writer for X.509 v3 certificates (RFC 5280), so that no ASN.1 library is needed.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c)
const set = (...c: Buffer[]) => tlv(0x31, ...c)
const nul = () => Buffer.from([0x05, 0x00])
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]))
const octets = (b: Buffer) => tlv(0x04, b)
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b)
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))

function integer(b: Buffer): Buffer {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  const v = b.subarray(i)
  return tlv(0x02, (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number)
  const out = [40 * parts[0]! + parts[1]!]
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f]
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80)
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`))
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))))
const sha256WithRsa = () => seq(oid('1.2.840.113549.1.1.11'), nul())
const ext = (id: string, critical: boolean, value: Buffer) =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value))

/** keyUsage named bits (RFC 5280 §4.2.1.3) as a DER BIT STRING. */
function keyUsage(flags: number[]): Buffer {
  let v = 0
  for (const f of flags) v |= 0x80 >> f
  let unused = 0
  while (unused < 7 && ((v >> unused) & 1) === 0) unused++
  return bits(Buffer.from([v]), unused)
}

const generate = promisify(generateKeyPair)

async function rsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generate('rsa', { modulusLength: 2048 })
}

interface CertSpec {
  subject: string
  issuer: string
  publicKey: KeyObject
  signingKey: KeyObject
  notBefore: Date
  notAfter: Date
  extensions: Buffer[]
}

function buildCertificate(spec: CertSpec): string {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' })
  const serial = randomBytes(16)
  serial[0]! &= 0x7f
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    sha256WithRsa(),
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spki,
    tlv(0xa3, seq(...spec.extensions)),
  )
  const signature = sign('sha256', tbs, spec.signingKey)
  const der = seq(tbs, sha256WithRsa(), bits(signature))
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
function keyId(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  return createHash('sha1').update(`${jwk.n}.${jwk.e}`).digest()
}

/** A certificate and its PKCS#8 private key, both PEM. */
export interface CertificateAndKey {
  certificatePem: string
  privateKeyPem: string
}

const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString()

// RSA key generation dominates start-up on a busy machine, so in-memory emulators share the key material of their
// initial world and TLS: within a process, and across processes through a per-user cache folder in the temp
// directory (files 0600; set DATAVERSE_S2S_EMULATOR_KEY_CACHE=off to disable). Rollovers and credentials added later
// always get fresh keys; emulators with a state folder keep their own keys there.
const shared = new Map<string, Promise<unknown>>()

function cacheDir(): string | undefined {
  if (process.env.DATAVERSE_S2S_EMULATOR_KEY_CACHE === 'off') return undefined
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user'
  return join(tmpdir(), `dataverse-s2s-emulator-keys-${uid}`)
}

function stillValid(pem: string): boolean {
  try {
    return new Date(new X509Certificate(pem).validTo).getTime() - Date.now() > 30 * 86_400_000
  } catch {
    return false
  }
}

async function cached<T extends object>(
  key: string,
  valid: (value: T) => boolean,
  make: () => Promise<T>,
): Promise<T> {
  let pending = shared.get(key) as Promise<T> | undefined
  if (pending) return pending
  pending = (async () => {
    const dir = cacheDir()
    const file = dir
      ? join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`)
      : undefined
    if (file) {
      try {
        const value = JSON.parse(await readFile(file, 'utf8')) as T
        if (valid(value)) return value
      } catch {
        // Not cached yet (or unreadable): generate below.
      }
    }
    const value = await make()
    if (dir && file) {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 })
        const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
        await writeFile(tmp, JSON.stringify(value), { mode: 0o600 })
        await rename(tmp, file)
      } catch {
        // A cache that cannot be written only costs time.
      }
    }
    return value
  })()
  pending.catch(() => shared.delete(key))
  shared.set(key, pending)
  return pending
}

/** Like {@link generateSelfSignedCertificate}, but one certificate per `key`, shared as described above. */
export function sharedSelfSignedCertificate(key: string, subject: string): Promise<CertificateAndKey> {
  return cached(
    `self-signed|${key}|${subject}`,
    (v: CertificateAndKey) => stillValid(v.certificatePem),
    () => generateSelfSignedCertificate(subject),
  )
}

/** A CA and a localhost server certificate shared by in-memory emulators, as described above. */
export function sharedTlsMaterial(): Promise<{ ca: CertificateAndKey; server: CertificateAndKey }> {
  return cached(
    'tls',
    (v: { ca: CertificateAndKey; server: CertificateAndKey }) =>
      stillValid(v.ca.certificatePem) && stillValid(v.server.certificatePem),
    async () => {
      const ca = await generateCa('Dataverse S2S Emulator CA')
      return { ca, server: await generateServerCertificate(ca) }
    },
  )
}

/** A self-signed RSA-2048 certificate (an app's client credential, or a JWT signing key's `x5c`). */
export async function generateSelfSignedCertificate(subject: string, years = 2): Promise<CertificateAndKey> {
  const { publicKey, privateKey } = await rsaKeyPair()
  const notBefore = new Date(Date.now() - 60_000)
  const certificatePem = buildCertificate({
    subject,
    issuer: subject,
    publicKey,
    signingKey: privateKey,
    notBefore,
    notAfter: new Date(notBefore.getTime() + years * 365 * 86_400_000),
    extensions: [
      ext('2.5.29.19', true, seq()),
      ext('2.5.29.15', true, keyUsage([0])),
      ext('2.5.29.14', false, octets(keyId(publicKey))),
    ],
  })
  return { certificatePem, privateKeyPem: pkcs8(privateKey) }
}

/** A CA certificate (10 years) for the emulator's TLS. */
export async function generateCa(subject: string): Promise<CertificateAndKey> {
  const { publicKey, privateKey } = await rsaKeyPair()
  const notBefore = new Date(Date.now() - 60_000)
  const certificatePem = buildCertificate({
    subject,
    issuer: subject,
    publicKey,
    signingKey: privateKey,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 10 * 365 * 86_400_000),
    extensions: [
      ext('2.5.29.19', true, seq(bool(true), integer(Buffer.from([0])))),
      ext('2.5.29.15', true, keyUsage([5, 6])),
      ext('2.5.29.14', false, octets(keyId(publicKey))),
    ],
  })
  return { certificatePem, privateKeyPem: pkcs8(privateKey) }
}

/** A TLS server certificate for `hosts` (default `localhost`, `127.0.0.1`, `::1`), issued by `ca`, valid 397 days. */
export async function generateServerCertificate(
  ca: CertificateAndKey,
  hosts: string[] = ['localhost', '127.0.0.1', '::1'],
): Promise<CertificateAndKey> {
  const caCert = new X509Certificate(ca.certificatePem)
  const caKey = createPrivateKey(ca.privateKeyPem)
  const { publicKey, privateKey } = await rsaKeyPair()
  const notBefore = new Date(Date.now() - 60_000)
  const san = hosts.map((h) => {
    if (isIP(h) === 4) return tlv(0x87, Buffer.from(h.split('.').map(Number)))
    if (isIP(h) === 6) return tlv(0x87, ipv6(h))
    return tlv(0x82, Buffer.from(h, 'ascii'))
  })
  const issuerCn = /CN=([^\n,]+)/.exec(caCert.subject)?.[1] ?? 'Dataverse S2S Emulator CA'
  const certificatePem = buildCertificate({
    subject: hosts[0] ?? 'localhost',
    issuer: issuerCn,
    publicKey,
    signingKey: caKey,
    notBefore,
    // Browsers refuse server certificates valid for more than 398 days.
    notAfter: new Date(notBefore.getTime() + 397 * 86_400_000),
    extensions: [
      ext('2.5.29.19', true, seq()),
      ext('2.5.29.15', true, keyUsage([0, 2])),
      ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      ext('2.5.29.17', false, seq(...san)),
      ext('2.5.29.14', false, octets(keyId(publicKey))),
      ext('2.5.29.35', false, seq(tlv(0x80, keyId(caCert.publicKey)))),
    ],
  })
  return { certificatePem, privateKeyPem: pkcs8(privateKey) }
}

function ipv6(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  const out = Buffer.alloc(16)
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2)
  return out
}

/** Thumbprints of a PEM certificate in the forms Entra and MSAL use. */
export function certificateCredential(certificatePem: string, privateKeyPem?: string): CertificateCredential {
  const cert = new X509Certificate(certificatePem)
  const sha1 = createHash('sha1').update(cert.raw).digest()
  const sha256 = createHash('sha256').update(cert.raw).digest()
  return {
    thumbprintSha1: sha1.toString('base64url'),
    thumbprintSha256: sha256.toString('base64url'),
    thumbprintSha1Hex: sha1.toString('hex').toUpperCase(),
    thumbprintSha256Hex: sha256.toString('hex').toUpperCase(),
    certificatePem: cert.toString(),
    ...(privateKeyPem === undefined ? {} : { privateKeyPem }),
  }
}
