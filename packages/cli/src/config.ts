import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CliError } from './errors.ts'

/** A named set of connection settings in the config file. Secrets are better left in the environment. */
export interface Profile {
  tenantId?: string
  clientId?: string
  /** Read it from the environment instead when you can: the file is plain text. */
  clientSecret?: string
  certificatePath?: string
  privateKeyPath?: string
  certificatePassphrase?: string
  /** Default org URL of the commands that take --org. */
  org?: string
  /** A custom cloud's Entra ID origin (the emulator's https://localhost:8443). */
  authorityHost?: string
  cloud?: string
  /** A CA certificate (PEM) to trust, e.g. the emulator's. */
  ca?: string
}

const FIELDS: readonly (keyof Profile)[] = [
  'tenantId',
  'clientId',
  'clientSecret',
  'certificatePath',
  'privateKeyPath',
  'certificatePassphrase',
  'org',
  'authorityHost',
  'cloud',
  'ca',
]

/** Where profiles live: --config, then DATAVERSE_S2S_CONFIG, then $XDG_CONFIG_HOME/dataverse-s2s/config.json. */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  if (explicit) return explicit
  if (env['DATAVERSE_S2S_CONFIG']) return env['DATAVERSE_S2S_CONFIG']
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config')
  return join(base, 'dataverse-s2s', 'config.json')
}

/** Reads every profile of the config file; a missing file has none. */
export async function readProfiles(path: string): Promise<Record<string, Profile>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new CliError(
      'CONFIG',
      `Cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code}.`,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new CliError('CONFIG', `The config file ${path} is not valid JSON.`)
  }
  const profiles = (parsed as { profiles?: unknown } | null)?.profiles
  if (profiles === null || typeof profiles !== 'object' || Array.isArray(profiles))
    throw new CliError('CONFIG', `The config file ${path} has no "profiles" object.`)
  const out: Record<string, Profile> = {}
  for (const [name, raw] of Object.entries(profiles as Record<string, unknown>)) {
    if (raw === null || typeof raw !== 'object')
      throw new CliError('CONFIG', `Profile ${JSON.stringify(name)} in ${path} is not an object.`)
    const profile: Profile = {}
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (!FIELDS.includes(key as keyof Profile))
        throw new CliError(
          'CONFIG',
          `Profile ${JSON.stringify(name)} in ${path} has an unknown field ${JSON.stringify(key)}.`,
        )
      if (typeof value !== 'string')
        throw new CliError(
          'CONFIG',
          `Field ${key} of profile ${JSON.stringify(name)} in ${path} must be a string.`,
        )
      profile[key as keyof Profile] = value
    }
    out[name] = profile
  }
  return out
}

/** The DATAVERSE_* variables a profile stands for, so one reader (core's credentialsFromEnv) serves both. */
export function profileEnv(profile: Profile): Record<string, string | undefined> {
  return {
    DATAVERSE_TENANT_ID: profile.tenantId,
    DATAVERSE_CLIENT_ID: profile.clientId,
    DATAVERSE_CLIENT_SECRET: profile.clientSecret,
    DATAVERSE_CERTIFICATE_PATH: profile.certificatePath,
    DATAVERSE_PRIVATE_KEY_PATH: profile.privateKeyPath,
    DATAVERSE_CERTIFICATE_PASSPHRASE: profile.certificatePassphrase,
  }
}
