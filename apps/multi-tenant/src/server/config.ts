import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** Everything the server needs, read from the environment (and `.env`). */
export interface AppConfig {
  port: number
  /** The one URL people open: the SPA and the API share this origin. */
  publicUrl: string
  dataDir: string
  /** HMAC key for consent state and paging cursors. */
  stateSecret: string
  /** `emulator`: the embedded emulator; `entra`: a real tenant. */
  mode: 'emulator' | 'entra'
  /** Emulator mode: the port of its Entra ID (`EMULATOR_PORT`, default 8443); the orgs take the following ports. */
  emulatorPort: number
  entra?: {
    clientId: string
    clientSecret?: string
    certificatePem?: string
    /** `public` (default), `gcc`, `gcc-high`, `dod` or `china`. */
    cloud: 'public' | 'gcc' | 'gcc-high' | 'dod' | 'china'
    /**
     * `ENTRA_AUTHORITY_HOST`: an https origin standing in for Entra ID (an emulator configured as a real tenant, for
     * tests); the server's token provider, verifier and discovery and the SPA's msal-browser all use it.
     */
    authorityHost?: string
    /** `ENTRA_CA_FILE`: extra CA certificates (PEM) to trust for that stand-in and its orgs. */
    caPem?: string
    /** `ENTRA_TENANT_ID`: the app registration's home tenant (id or domain); only `doctor` uses it. */
    homeTenantId?: string
  }
  apiScope: string
  roleName: string
  /**
   * Scale-out (`REDIS_URL`): the token cache, single flight and one throttle budget per org shared through Redis;
   * tokens encrypted with `TOKEN_CACHE_KEYS` (`id:base64key,…`, the first current). Unset: in this process only.
   */
  redis?: { url: string; tokenCacheKeys: string; prefix?: string }
  /** Scale-out (`DATABASE_URL`): the tenant registry on PostgreSQL. Unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string
}

const bool = (v: string | undefined, d: boolean) =>
  v === undefined || v === '' ? d : /^(1|true|yes|on)$/i.test(v)

/**
 * Reads the configuration from `env` (after loading `.env` from `cwd` when present).
 * @throws Error naming the setting to fix
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const envFile = resolve(cwd, '.env')
  if (env === process.env && existsSync(envFile)) process.loadEnvFile(envFile)
  const dataDir = resolve(cwd, env.DATA_DIR || '.data')
  const port = Number(env.PORT || 5173)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number')
  const emulatorPort = Number(env.EMULATOR_PORT || 8443)
  if (!Number.isInteger(emulatorPort) || emulatorPort < 0 || emulatorPort > 65_500) {
    throw new Error('EMULATOR_PORT must be a port number (the orgs take the ports after it)')
  }
  const publicUrl = (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '')
  const clientId = env.ENTRA_CLIENT_ID?.trim()
  let entra: AppConfig['entra']
  if (clientId) {
    const certPath = env.ENTRA_CERTIFICATE_PATH?.trim()
    const secret = env.ENTRA_CLIENT_SECRET?.trim()
    if (!certPath && !secret) {
      throw new Error('ENTRA_CLIENT_ID is set: also set ENTRA_CLIENT_SECRET or ENTRA_CERTIFICATE_PATH')
    }
    const cloud = env.ENTRA_CLOUD || 'public'
    if (!['public', 'gcc', 'gcc-high', 'dod', 'china'].includes(cloud)) {
      throw new Error('ENTRA_CLOUD must be public, gcc, gcc-high, dod or china')
    }
    const authorityHost = env.ENTRA_AUTHORITY_HOST?.trim()
    if (authorityHost) {
      let url: URL | undefined
      try {
        url = new URL(authorityHost)
      } catch {}
      if (url?.protocol !== 'https:' || url.pathname !== '/' || url.search || url.hash) {
        throw new Error(
          'ENTRA_AUTHORITY_HOST must be an https origin such as https://localhost:8443 (no path); leave it empty for Microsoft Entra ID',
        )
      }
      if (env.ENTRA_CLOUD && env.ENTRA_CLOUD !== 'public') {
        throw new Error('Set ENTRA_CLOUD or ENTRA_AUTHORITY_HOST, not both')
      }
    }
    const caFile = env.ENTRA_CA_FILE?.trim()
    const homeTenantId = env.ENTRA_TENANT_ID?.trim()
    entra = {
      clientId,
      cloud: cloud as NonNullable<AppConfig['entra']>['cloud'],
      ...(authorityHost ? { authorityHost: new URL(authorityHost).origin } : {}),
      ...(caFile ? { caPem: readCa(resolve(cwd, caFile)) } : {}),
      ...(homeTenantId ? { homeTenantId } : {}),
      ...(certPath
        ? { certificatePem: readFileSync(resolve(cwd, certPath), 'utf8') }
        : { clientSecret: secret }),
    } as NonNullable<AppConfig['entra']>
  } else if (!bool(env.EMULATOR, true)) {
    throw new Error(
      'Set ENTRA_CLIENT_ID (and a secret or certificate), or leave EMULATOR on to use the emulator',
    )
  }
  const redisUrl = env.REDIS_URL?.trim()
  const tokenCacheKeys = env.TOKEN_CACHE_KEYS?.trim()
  if (redisUrl && !tokenCacheKeys) {
    throw new Error(
      'REDIS_URL is set: also set TOKEN_CACHE_KEYS (id:base64key, make a key with openssl rand -base64 32)',
    )
  }
  const databaseUrl = env.DATABASE_URL?.trim()
  if ((redisUrl || databaseUrl) && !env.STATE_SECRET) {
    throw new Error(
      'REDIS_URL or DATABASE_URL is set (several instances): also set STATE_SECRET, the same on every instance',
    )
  }
  return {
    ...(redisUrl && tokenCacheKeys
      ? {
          redis: { url: redisUrl, tokenCacheKeys, ...(env.REDIS_PREFIX ? { prefix: env.REDIS_PREFIX } : {}) },
        }
      : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    port,
    publicUrl,
    dataDir,
    stateSecret: env.STATE_SECRET || persistentSecret(dataDir),
    mode: entra ? 'entra' : 'emulator',
    emulatorPort,
    ...(entra ? { entra } : {}),
    apiScope: env.API_SCOPE || 'access_as_user',
    roleName: env.DATAVERSE_ROLE || 'Dataverse S2S Connector',
  }
}

function readCa(path: string): string {
  const pem = existsSync(path) ? readFileSync(path, 'utf8') : ''
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`ENTRA_CA_FILE must name a PEM file of CA certificates; ${path} is missing or holds none`)
  }
  return pem
}

function persistentSecret(dataDir: string): string {
  const file = resolve(dataDir, 'state-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret, { mode: 0o600 })
  return secret
}
