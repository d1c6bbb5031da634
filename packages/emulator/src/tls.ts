import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici'
import {
  type CertificateAndKey,
  generateCa,
  generateServerCertificate,
  sharedTlsMaterial,
} from './certificates.ts'
import { EmulatorError } from './errors.ts'

/** The emulator's TLS material: its CA (trust this) and the `localhost` server certificate it issued. */
export interface TlsMaterial {
  ca: CertificateAndKey
  server: CertificateAndKey
  /** Files in the state folder, when there is one. */
  files?: { caCert: string; caBundle: string }
}

const RENEW_BEFORE_MS = 30 * 86_400_000

function expiresSoon(pem: string): boolean {
  return new Date(new X509Certificate(pem).validTo).getTime() - Date.now() < RENEW_BEFORE_MS
}

async function readPair(certFile: string, keyFile: string): Promise<CertificateAndKey | undefined> {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined
  return { certificatePem: await readFile(certFile, 'utf8'), privateKeyPem: await readFile(keyFile, 'utf8') }
}

/** The PEM bundle Node trusts by default: its built-in roots plus `NODE_EXTRA_CA_CERTS` when that file exists. */
export function defaultCaBundle(): string[] {
  const extra = process.env.NODE_EXTRA_CA_CERTS
  const certs = [...rootCertificates]
  if (extra && existsSync(extra)) certs.push(readFileSync(extra, 'utf8'))
  return certs
}

/**
 * Loads the CA and server certificate from `stateDir/tls/`, creating them on first use (and renewing the server
 * certificate 30 days before it expires). Without `stateDir` the material lives in memory (one CA per process).
 * Also writes `tls/ca-bundle.pem`: the default bundle plus the emulator's CA, ready for `NODE_EXTRA_CA_CERTS`.
 * @throws {EmulatorError} 'TLS' when stored files cannot be read or written.
 */
export async function loadOrCreateTls(stateDir?: string): Promise<TlsMaterial> {
  if (stateDir === undefined) return { ...(await sharedTlsMaterial()) }
  const dir = join(stateDir, 'tls')
  const paths = {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
    caBundle: join(dir, 'ca-bundle.pem'),
  }
  try {
    await mkdir(dir, { recursive: true })
    let ca = await readPair(paths.caCert, paths.caKey)
    let fresh = false
    if (!ca || expiresSoon(ca.certificatePem)) {
      ca = await generateCa('Dataverse S2S Emulator CA')
      await writeFile(paths.caKey, ca.privateKeyPem, { mode: 0o600 })
      await writeFile(paths.caCert, ca.certificatePem)
      fresh = true
    }
    let server = fresh ? undefined : await readPair(paths.cert, paths.key)
    if (!server || expiresSoon(server.certificatePem)) {
      server = await generateServerCertificate(ca)
      await writeFile(paths.key, server.privateKeyPem, { mode: 0o600 })
      await writeFile(paths.cert, server.certificatePem)
    }
    await writeFile(paths.caBundle, [...defaultCaBundle(), ca.certificatePem].join('\n'))
    return { ca, server, files: { caCert: paths.caCert, caBundle: paths.caBundle } }
  } catch (cause) {
    throw new EmulatorError('TLS', `Could not read or write the emulator's certificates in ${dir}.`, {
      cause,
    })
  }
}

/**
 * An undici dispatcher that trusts the emulator's CA in addition to Node's default roots (and `NODE_EXTRA_CA_CERTS`).
 * Pass it as `dispatcher` to undici's `fetch`/`request`, or install it with {@link trustEmulatorGlobally}.
 * @example
 * import { fetch } from 'undici'
 * const dispatcher = createTrustingAgent(emulator.caCertPem)
 * const response = await fetch(`${emulator.url}/common/v2.0/.well-known/openid-configuration`, { dispatcher })
 */
export function createTrustingAgent(caCertPem: string, options: Agent.Options = {}): Agent {
  return new Agent({ ...options, connect: { ca: [...defaultCaBundle(), caCertPem] } })
}

/**
 * Makes the process's global `fetch` (and so `@azure/msal-node`, which uses it) trust the emulator's CA, by
 * installing {@link createTrustingAgent} as the global undici dispatcher. Returns a function that restores the
 * previous dispatcher.
 * @example
 * const restore = trustEmulatorGlobally(emulator.caCertPem)
 * try {
 *   await fetch(`${emulator.url}/${defaultIds.contosoTenantId}/v2.0/.well-known/openid-configuration`)
 * } finally {
 *   restore()
 * }
 */
export function trustEmulatorGlobally(caCertPem: string): () => void {
  const previous: Dispatcher = getGlobalDispatcher()
  setGlobalDispatcher(createTrustingAgent(caCertPem))
  return () => setGlobalDispatcher(previous)
}
