import { existsSync, readFileSync } from 'node:fs'

/** One Dataverse environment of the tenant, e.g. `dev` → `https://contoso-dev.crm.dynamics.com`. */
export interface Environment {
  name: string
  url: string
}

export interface AppConfig {
  /** The tenant this app belongs to; only its users may sign in. */
  tenantId: string
  /** The app registration's application (client) id. */
  clientId: string
  /** Origin of Entra ID: `https://login.microsoftonline.com`, or the emulator's. */
  authorityHost: string
  /** The certificate credential (PEM), used both for sign-in (code redemption) and for S2S tokens. */
  certificatePem: string
  privateKeyPem: string
  privateKeyPassphrase?: string
  environments: Environment[]
  /** Where users reach the app, e.g. `http://localhost:3001`; the redirect URI is `{publicUrl}/auth/callback`. */
  publicUrl: string
  port: number
  /** One or more secrets (comma-separated in SESSION_SECRET); the first signs, all verify. */
  sessionSecrets: string[]
  /** Extra CA certificates (PEM) to trust, e.g. the emulator's. */
  caPem?: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True when none of the variables that point the app at a real tenant are set: then it runs on the emulator. */
export function wantsEmulator(env: NodeJS.ProcessEnv): boolean {
  if (env['USE_EMULATOR'] === 'true' || env['USE_EMULATOR'] === '1') return true
  if (env['USE_EMULATOR'] === 'false' || env['USE_EMULATOR'] === '0') return false
  return !env['TENANT_ID'] && !env['CLIENT_ID'] && !env['DATAVERSE_ENVIRONMENTS']
}

/**
 * `dev=https://contoso-dev.crm.dynamics.com,prod=https://contoso.crm.dynamics.com`: names are letters, digits,
 * `-` and `_`; URLs are https org URLs (a path is dropped).
 */
export function parseEnvironments(text: string): Environment[] {
  const environments: Environment[] = []
  for (const part of text.split(',')) {
    if (!part.trim()) continue
    const at = part.indexOf('=')
    const name = part.slice(0, at).trim()
    const rawUrl = part.slice(at + 1).trim()
    if (at <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(name)) {
      throw new ConfigError(
        `DATAVERSE_ENVIRONMENTS: "${part.trim()}" is not name=url (e.g. dev=https://x.crm.dynamics.com).`,
      )
    }
    let url: URL
    try {
      url = new URL(rawUrl)
    } catch {
      throw new ConfigError(`DATAVERSE_ENVIRONMENTS: the URL of "${name}" is not a URL.`)
    }
    if (url.protocol !== 'https:')
      throw new ConfigError(`DATAVERSE_ENVIRONMENTS: the URL of "${name}" must be https.`)
    if (environments.some((e) => e.name === name)) {
      throw new ConfigError(`DATAVERSE_ENVIRONMENTS: "${name}" is listed twice.`)
    }
    environments.push({ name, url: url.origin })
  }
  if (environments.length === 0) {
    throw new ConfigError('DATAVERSE_ENVIRONMENTS is empty: list at least one name=https://org-url.')
  }
  return environments
}

function required(env: NodeJS.ProcessEnv, name: string, hint: string): string {
  const value = env[name]?.trim()
  if (!value) throw new ConfigError(`${name} is not set: ${hint}`)
  return value
}

function readPem(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    throw new ConfigError(
      `${variable}: cannot read ${path}; give the path of a PEM file readable by this process.`,
    )
  }
}

/**
 * Reads the configuration of a real tenant from environment variables (see `.env.example`).
 * @throws ConfigError naming the variable that is missing or wrong
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: { purpose?: 'web' | 'job' } = {}): AppConfig {
  const tenantId = required(env, 'TENANT_ID', 'the Directory (tenant) ID of your organization, a GUID.')
  if (!GUID.test(tenantId)) throw new ConfigError('TENANT_ID must be the tenant GUID, not a domain name.')
  const clientId = required(env, 'CLIENT_ID', 'the Application (client) ID of the app registration.')
  if (!GUID.test(clientId)) throw new ConfigError('CLIENT_ID must be a GUID.')
  const certPath = required(
    env,
    'CLIENT_CERTIFICATE_PATH',
    'the path of the certificate (PEM) uploaded to the app.',
  )
  const keyPath = required(env, 'CLIENT_PRIVATE_KEY_PATH', 'the path of its private key (PEM).')
  const port = Number(env['PORT'] ?? 3001)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError('PORT must be a port number.')
  const publicUrl = (env['PUBLIC_URL'] ?? `http://localhost:${port}`).replace(/\/+$/, '')
  if (!/^https?:\/\//.test(publicUrl))
    throw new ConfigError('PUBLIC_URL must start with http:// or https://.')
  const secrets = (env['SESSION_SECRET'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (options.purpose !== 'job' && (secrets.length === 0 || secrets.some((s) => s.length < 32))) {
    throw new ConfigError(
      'SESSION_SECRET must be set to a random string of 32+ characters (openssl rand -base64 48).',
    )
  }
  const config: AppConfig = {
    tenantId,
    clientId,
    authorityHost: (env['AUTHORITY_HOST'] ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
    certificatePem: readPem(certPath, 'CLIENT_CERTIFICATE_PATH'),
    privateKeyPem: readPem(keyPath, 'CLIENT_PRIVATE_KEY_PATH'),
    environments: parseEnvironments(
      required(
        env,
        'DATAVERSE_ENVIRONMENTS',
        'name=org-url pairs, e.g. dev=https://contoso-dev.crm.dynamics.com.',
      ),
    ),
    publicUrl,
    port,
    sessionSecrets: secrets,
  }
  if (env['CLIENT_PRIVATE_KEY_PASSPHRASE']) config.privateKeyPassphrase = env['CLIENT_PRIVATE_KEY_PASSPHRASE']
  if (env['EXTRA_CA_CERTS_PATH']) config.caPem = readPem(env['EXTRA_CA_CERTS_PATH'], 'EXTRA_CA_CERTS_PATH')
  return config
}

/**
 * Loads `.env` from the working folder when there is one (variables already set win), so that `cp .env.example
 * .env` and `pnpm start` is all it takes. `ENV_FILE` names another file; `ENV_FILE=none` skips loading.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env['ENV_FILE'] ?? '.env'
  if (path === 'none' || !existsSync(path)) return undefined
  process.loadEnvFile(path)
  return path
}
