import { readFile } from 'node:fs/promises'
import {
  type Cloud,
  clouds,
  createTokenProvider,
  credentialsFromEnv,
  defineCloud,
  discoverTenant,
  type EnvCredentials,
  type TokenProvider,
} from '@dataverse-s2s/core'
import { createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'
import { configPath, type Profile, profileEnv, readProfiles } from './config.ts'
import { CliError } from './errors.ts'

/** Options every command takes. */
export interface GlobalOptions {
  json?: boolean
  profile?: string
  config?: string
  org?: string
  tenant?: string
  cloud?: string
  authorityHost?: string
  ca?: string
}

/** Settings after the profile, the environment and the flags were merged (flags win). */
export interface Settings {
  profile?: Profile
  env: Record<string, string | undefined>
  org?: string
  tenant?: string
  cloud?: string
  authorityHost?: string
  caPath?: string
}

export async function loadSettings(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  const name = opts.profile ?? (env['DATAVERSE_PROFILE'] || undefined)
  let profile: Profile | undefined
  if (name !== undefined) {
    const path = configPath(opts.config, env)
    const profiles = await readProfiles(path)
    profile = profiles[name]
    if (!profile)
      throw new CliError(
        'CONFIG',
        `No profile ${JSON.stringify(name)} in ${path} (it has: ${Object.keys(profiles).join(', ') || 'none'}).`,
      )
  }
  // A chosen profile names the whole app registration; without one the environment does.
  const credentialEnv = profile ? profileEnv(profile) : env
  const pick = (flag: string | undefined, fromProfile: string | undefined) => flag ?? fromProfile
  const settings: Settings = { env: credentialEnv }
  if (profile) settings.profile = profile
  const org = pick(opts.org, profile?.org)
  const tenant = pick(opts.tenant, undefined)
  const cloud = pick(opts.cloud, profile?.cloud)
  const authorityHost = pick(opts.authorityHost, profile?.authorityHost)
  const caPath = pick(opts.ca, profile?.ca)
  if (org !== undefined) settings.org = org
  if (tenant !== undefined) settings.tenant = tenant
  if (cloud !== undefined) settings.cloud = cloud
  if (authorityHost !== undefined) settings.authorityHost = authorityHost
  if (caPath !== undefined) settings.caPath = caPath
  if (cloud !== undefined && authorityHost !== undefined)
    throw new CliError('USAGE', 'Pass --cloud or --authority-host, not both.')
  if (cloud !== undefined && !(cloud in clouds))
    throw new CliError('USAGE', `--cloud must be one of ${Object.keys(clouds).join(', ')}.`)
  return settings
}

/** The org URL (origin) from --org or the profile. */
export function requireOrg(settings: Settings): string {
  if (settings.org === undefined)
    throw new CliError('USAGE', 'This command needs --org <url> (or a profile with "org").')
  let url: URL
  try {
    url = new URL(settings.org)
  } catch {
    throw new CliError(
      'USAGE',
      `--org must be an org URL such as https://contoso.crm.dynamics.com (got ${settings.org}).`,
    )
  }
  if (url.protocol !== 'https:')
    throw new CliError('USAGE', `--org must be an https URL (got ${settings.org}).`)
  return url.origin
}

export async function readCa(settings: Settings): Promise<string | undefined> {
  if (settings.caPath === undefined) return undefined
  try {
    return await readFile(settings.caPath, 'utf8')
  } catch (err) {
    throw new CliError(
      'USAGE',
      `Cannot read --ca ${settings.caPath}: ${(err as NodeJS.ErrnoException).code}.`,
    )
  }
}

/** The cloud from --cloud / --authority-host; undefined lets discovery decide. */
export function cloudOf(settings: Settings, orgUrl?: string): Cloud | undefined {
  if (settings.authorityHost !== undefined)
    return defineCloud({
      name: 'custom',
      authorityHost: settings.authorityHost,
      dataverseHosts: orgUrl ? [new URL(orgUrl).hostname] : ['localhost'],
    })
  return settings.cloud === undefined ? undefined : clouds[settings.cloud as keyof typeof clouds]
}

/** Everything a command needs to call an org as the app. */
export interface Connection {
  orgUrl: string
  clientId: string
  tenantId: string
  cloud: Cloud | undefined
  ca: string | undefined
  credentials: EnvCredentials
  tokens: TokenProvider
  client: DataverseClient
}

/** Resolves credentials, tenant (discovered from the org when not given) and cloud, and builds the client. */
export async function connect(settings: Settings, orgUrl: string): Promise<Connection> {
  const credentials = await credentialsFromEnv(settings.env)
  const ca = await readCa(settings)
  const http = ca === undefined ? {} : { http: { ca } }
  let cloud = cloudOf(settings, orgUrl)
  let tenantId = settings.tenant ?? credentials.tenantId
  if (tenantId === undefined) {
    const found = await discoverTenant(orgUrl, { ...(cloud ? { cloud } : {}), ...http })
    tenantId = found.tenantId
    cloud = found.cloud
  }
  const tokens = createTokenProvider({
    clientId: credentials.clientId,
    credential: credentials.credential,
    tenantId,
    ...(cloud ? { cloud } : {}),
    ...http,
  })
  const client = createDataverseClient({
    url: orgUrl,
    getToken: async (resource, { forceRefresh }) => {
      if (forceRefresh) tokens.invalidate({ resource })
      return tokens.getToken({ resource })
    },
    userAgent: 'dataverse-s2s-cli',
    ...(ca === undefined ? {} : { ca }),
  })
  return { orgUrl, clientId: credentials.clientId, tenantId, cloud, ca, credentials, tokens, client }
}
