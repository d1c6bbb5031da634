import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { EmulatorError } from './errors.ts'

// Like mkcert: browsers on Linux (Chromium, Firefox through p11-kit or its profile) read the user's NSS database
// ~/.pki/nssdb (managed with `certutil` from libnss3-tools); curl, OpenSSL and `node --use-openssl-ca` read the
// system store that `update-ca-certificates` builds from /usr/local/share/ca-certificates. Node's default store
// is neither: it needs NODE_EXTRA_CA_CERTS.

/** Where {@link trustEmulatorCa} installs the CA. */
export interface TrustStoreOptions {
  /** The CA certificate (PEM) to trust, e.g. `emulator.caCertPem` or the state folder's `tls/ca.pem`. */
  caCertPem: string
  /** NSS database folder. Default `~/.pki/nssdb` (what Chromium uses on Linux). */
  nssDb?: string
  /** Also install into the system store (`update-ca-certificates`). Default true. */
  system?: boolean
  /** System store folder. Default `/usr/local/share/ca-certificates`. */
  systemDir?: string
}

/** What {@link trustEmulatorCa} or {@link untrustEmulatorCa} did, store by store, in words. */
export interface TrustReport {
  nickname: string
  nss: string
  system: string
  /** The environment a Node process needs, which reads neither store. */
  node: string
}

function nicknameOf(caCertPem: string): string {
  const fingerprint = new X509Certificate(caCertPem).fingerprint256.replaceAll(':', '').slice(0, 12)
  return `Dataverse S2S Emulator CA ${fingerprint}`
}

function certutil(args: string[], input?: string): string {
  try {
    return execFileSync('certutil', args, {
      encoding: 'utf8',
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    })
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT'
    throw new EmulatorError(
      'TLS',
      missing
        ? 'certutil is not installed: install it (Debian/Ubuntu: `sudo apt-get install libnss3-tools`; Fedora: `sudo dnf install nss-tools`), then run this again.'
        : `certutil ${args[0]} failed: ${String((cause as { stderr?: string }).stderr ?? cause).trim()}`,
      { cause },
    )
  }
}

function nssPaths(options: TrustStoreOptions) {
  const dir = options.nssDb ?? join(homedir(), '.pki', 'nssdb')
  return { dir, db: `sql:${dir}` }
}

function systemPaths(options: TrustStoreOptions, nickname: string) {
  const dir = options.systemDir ?? '/usr/local/share/ca-certificates'
  return { dir, file: join(dir, `${nickname.toLowerCase().replaceAll(' ', '-')}.crt`) }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Whether the NSS database already holds this CA (the check `pnpm start` makes).
 * @example
 * if (!isEmulatorCaTrusted({ caCertPem: emulator.caCertPem })) console.log('Run `pnpm emulator trust` so that browsers accept the emulator.')
 */
export function isEmulatorCaTrusted(options: Pick<TrustStoreOptions, 'caCertPem' | 'nssDb'>): boolean {
  const { dir, db } = nssPaths(options)
  if (!existsSync(join(dir, 'cert9.db'))) return false
  try {
    execFileSync('certutil', ['-d', db, '-L', '-n', nicknameOf(options.caCertPem)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Installs the emulator's CA where browsers and TLS tools look: the NSS database (created when missing) and,
 * when `system` is true and the folder is writable (root), the system store. Idempotent.
 * @throws {EmulatorError} `TLS` when certutil is missing or fails.
 * @example
 * const report = trustEmulatorCa({ caCertPem: emulator.caCertPem, system: false })
 * console.log(report.nss, report.node)
 */
export function trustEmulatorCa(options: TrustStoreOptions): TrustReport {
  const nickname = nicknameOf(options.caCertPem)
  const { dir, db } = nssPaths(options)
  mkdirSync(dir, { recursive: true })
  if (!existsSync(join(dir, 'cert9.db'))) certutil(['-d', db, '-N', '--empty-password'])
  // C,, : a trusted CA for TLS servers only (not e-mail, not code signing).
  // Without -i, certutil reads the certificate from stdin.
  if (!isEmulatorCaTrusted(options))
    certutil(['-d', db, '-A', '-t', 'C,,', '-n', nickname], options.caCertPem)
  const system = systemPaths(options, nickname)
  let systemReport = 'skipped (--no-system)'
  if (options.system !== false) {
    if (writable(system.dir)) {
      writeFileSync(system.file, options.caCertPem)
      execFileSync('update-ca-certificates', [], { stdio: 'ignore' })
      systemReport = `installed as ${system.file} (update-ca-certificates)`
    } else {
      systemReport = `not writable without root; run this command again as root (it writes ${system.file} and runs update-ca-certificates)`
    }
  }
  return {
    nickname,
    nss: `trusted in ${dir} (restart the browser)`,
    system: systemReport,
    node: "Node does not read these stores: set NODE_EXTRA_CA_CERTS to the state folder's tls/ca-bundle.pem (the default roots plus this CA)",
  }
}

/**
 * Removes what {@link trustEmulatorCa} installed for this CA. Idempotent.
 * @example
 * const report = untrustEmulatorCa({ caCertPem: emulator.caCertPem, system: false })
 * console.log(report.nss)
 */
export function untrustEmulatorCa(options: TrustStoreOptions): TrustReport {
  const nickname = nicknameOf(options.caCertPem)
  const { dir, db } = nssPaths(options)
  let nss = `not present in ${dir}`
  if (isEmulatorCaTrusted(options)) {
    certutil(['-d', db, '-D', '-n', nickname])
    nss = `removed from ${dir}`
  }
  const system = systemPaths(options, nickname)
  let systemReport = 'skipped (--no-system)'
  if (options.system !== false) {
    if (!existsSync(system.file)) systemReport = 'not present'
    else if (writable(system.dir)) {
      rmSync(system.file)
      execFileSync('update-ca-certificates', [], { stdio: 'ignore' })
      systemReport = `removed ${system.file} (update-ca-certificates)`
    } else
      systemReport = `not writable without root; run: sudo rm ${system.file} && sudo update-ca-certificates`
  }
  return {
    nickname,
    nss,
    system: systemReport,
    node: 'unset NODE_EXTRA_CA_CERTS if you pointed it at the emulator',
  }
}

/** The CA certificate of a state folder, as `pnpm emulator trust` reads it. */
export function readStateCa(stateDir: string): { file: string; pem: string } {
  const file = join(stateDir, 'tls', 'ca.pem')
  if (!existsSync(file)) {
    throw new EmulatorError(
      'STATE',
      `No emulator CA in ${stateDir}: start the emulator once with this state folder (it creates tls/ca.pem), then run this again.`,
    )
  }
  return { file, pem: readFileSync(file, 'utf8') }
}
