import { readFile } from 'node:fs/promises'
import { type Credential, clientCertificate, clientSecret } from './credentials.ts'
import { TokenError } from './errors.ts'

/** The app registration as the command-line tools read it from the environment. */
export interface EnvCredentials {
  /** `DATAVERSE_CLIENT_ID`. */
  clientId: string
  /** From `DATAVERSE_CLIENT_SECRET`, or `DATAVERSE_CERTIFICATE_PATH` (+ `DATAVERSE_PRIVATE_KEY_PATH`, `DATAVERSE_CERTIFICATE_PASSPHRASE`). */
  credential: Credential
  /** `DATAVERSE_TENANT_ID`, when set. */
  tenantId?: string
}

function value(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new TokenError(
      'INVALID_CREDENTIAL',
      `Cannot read ${what} (${path}): ${(cause as NodeJS.ErrnoException).code ?? 'error'}. Point it at a readable PEM file.`,
      { cause },
    )
  }
}

/**
 * Reads the app registration from environment variables, as the command-line tools do: `DATAVERSE_CLIENT_ID`, then
 * `DATAVERSE_CLIENT_SECRET` or a PEM certificate at `DATAVERSE_CERTIFICATE_PATH` (its key in the same file or at
 * `DATAVERSE_PRIVATE_KEY_PATH`, `DATAVERSE_CERTIFICATE_PASSPHRASE` for an encrypted key), and `DATAVERSE_TENANT_ID`
 * when set. Empty values count as unset. Node only (reads files).
 * @param env Default `process.env`.
 * @throws {TokenError} `INVALID_OPTIONS` when the client id or a credential is missing, or both a secret and a
 * certificate are set; `INVALID_CREDENTIAL` when a PEM file cannot be read.
 * @example
 * const tokens = createTokenProvider(await credentialsFromEnv())
 */
export async function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<EnvCredentials> {
  const clientId = value(env, 'DATAVERSE_CLIENT_ID')
  if (clientId === undefined)
    throw new TokenError(
      'INVALID_OPTIONS',
      'DATAVERSE_CLIENT_ID is not set: set it to the application (client) id of the app registration.',
    )
  const secret = value(env, 'DATAVERSE_CLIENT_SECRET')
  const certificatePath = value(env, 'DATAVERSE_CERTIFICATE_PATH')
  if (secret !== undefined && certificatePath !== undefined)
    throw new TokenError(
      'INVALID_OPTIONS',
      'Set DATAVERSE_CLIENT_SECRET or DATAVERSE_CERTIFICATE_PATH, not both.',
    )
  const tenantId = value(env, 'DATAVERSE_TENANT_ID')
  const tenant = tenantId === undefined ? {} : { tenantId }
  if (secret !== undefined) return { clientId, credential: clientSecret(secret), ...tenant }
  if (certificatePath === undefined)
    throw new TokenError(
      'INVALID_OPTIONS',
      'No credentials: set DATAVERSE_CLIENT_SECRET or DATAVERSE_CERTIFICATE_PATH (a PEM certificate with its key).',
    )
  const certificate = await readPem(certificatePath, 'DATAVERSE_CERTIFICATE_PATH')
  const keyPath = value(env, 'DATAVERSE_PRIVATE_KEY_PATH')
  const privateKey =
    keyPath === undefined ? certificate : await readPem(keyPath, 'DATAVERSE_PRIVATE_KEY_PATH')
  const passphrase = value(env, 'DATAVERSE_CERTIFICATE_PASSPHRASE')
  return {
    clientId,
    credential: clientCertificate({
      certificate,
      privateKey,
      ...(passphrase === undefined ? {} : { passphrase }),
    }),
    ...tenant,
  }
}
