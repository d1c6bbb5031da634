import { entraCloud } from '../server/services.ts'
import { checkCertificate } from './certificate.ts'
import { checkCredential } from './credential.ts'
import { checkDiscovery } from './discovery.ts'
import { checkRedirectUris } from './redirect-uris.ts'
import { type CheckResult, exitCodeOf, formatReport } from './report.ts'
import { checkRole } from './role.ts'
import { checkSettings } from './settings.ts'
import { checkDatabase, checkRedis } from './stores.ts'

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The settings (default `process.env`, after `.env` in `cwd` is loaded). */
  env?: NodeJS.ProcessEnv
  /** Where `.env` and relative paths are read from (default `process.cwd()`). */
  cwd?: string
  /** Time limit of each network check in milliseconds (default 5,000). */
  timeoutMs?: number
  /** The time certificates are judged at (default now). */
  now?: Date
}

/** What {@link runDoctor} found: each step, the printable report and the process exit code. */
export interface DoctorResult {
  results: CheckResult[]
  report: string
  exitCode: 0 | 1
}

/**
 * Checks a real configuration of the sample step by step: the settings, OIDC discovery, the credential in the home
 * tenant, the redirect URIs, the role name, the certificate, Redis and PostgreSQL. Every failure carries its fix; no
 * secret, key or token is ever part of the report.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorResult> {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const timeoutMs = options.timeoutMs ?? 5_000
  const settings = checkSettings(env, cwd)
  const results: CheckResult[] = [settings.result]
  const config = settings.config
  if (config) {
    const cloud = entraCloud(config.entra)
    const ca = config.entra.caPem
    results.push(
      await checkDiscovery(cloud, {
        timeoutMs,
        ...(ca ? { ca } : {}),
        ...(config.entra.homeTenantId ? { homeTenantId: config.entra.homeTenantId } : {}),
      }),
      await checkCredential(config, cloud, { timeoutMs }),
      checkRedirectUris(env.PUBLIC_URL || config.publicUrl),
      checkRole(env.DATAVERSE_ROLE, config.roleName),
      checkCertificate(config.entra.certificatePem, env.ENTRA_CERTIFICATE_PATH, options.now),
      await checkRedis(config.redis?.url, timeoutMs),
      await checkDatabase(config.databaseUrl, timeoutMs),
    )
  } else {
    results.push({ step: 'other checks', status: 'skip', detail: 'they need settings that parse' })
  }
  const secrets = [
    env.ENTRA_CLIENT_SECRET,
    env.STATE_SECRET,
    env.TOKEN_CACHE_KEYS,
    ...(env.TOKEN_CACHE_KEYS ?? '').split(',').map((k) => k.slice(k.indexOf(':') + 1)),
    ...[env.REDIS_URL, env.DATABASE_URL].map(urlPassword),
    ...pemBodies(config?.entra.certificatePem),
  ].filter((s): s is string => typeof s === 'string' && s.trim() !== '')
  return { results, report: formatReport(results, secrets), exitCode: exitCodeOf(results) }
}

function urlPassword(url: string | undefined): string | undefined {
  try {
    return url ? decodeURIComponent(new URL(url).password) : undefined
  } catch {
    return undefined
  }
}

/** The base64 lines of each private key block: none of them may appear in the report. */
function pemBodies(pem: string | undefined): string[] {
  const keys = pem?.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/g) ?? []
  return keys.flatMap((k) => k.split('\n').filter((l) => l && !l.startsWith('-----')))
}
