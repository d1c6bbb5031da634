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
  }
  apiScope: string
  roleName: string
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
    entra = {
      clientId,
      cloud: cloud as NonNullable<AppConfig['entra']>['cloud'],
      ...(certPath
        ? { certificatePem: readFileSync(resolve(cwd, certPath), 'utf8') }
        : { clientSecret: secret }),
    } as NonNullable<AppConfig['entra']>
  } else if (!bool(env.EMULATOR, true)) {
    throw new Error(
      'Set ENTRA_CLIENT_ID (and a secret or certificate), or leave EMULATOR on to use the emulator',
    )
  }
  return {
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

function persistentSecret(dataDir: string): string {
  const file = resolve(dataDir, 'state-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret, { mode: 0o600 })
  return secret
}
