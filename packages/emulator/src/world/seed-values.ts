import { randomUUID } from 'node:crypto'
import {
  certificateCredential,
  generateSelfSignedCertificate,
  sharedSelfSignedCertificate,
} from '../certificates.ts'
import { EmulatorError } from '../errors.ts'
import type { CertificateCredential, CertificateSeed, GroupMembershipClaims } from './types.ts'

// How the world reads the values of a seed or an admin call: GUIDs, URLs, the enums of an app or a user, and the
// certificates an app is given (generated or PEM). Each one fails with an EmulatorError that names the bad value.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True for a GUID in the 8-4-4-4-12 form. */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value)
}

export function guidOrNew(value: string | undefined, what: string): string {
  if (value === undefined) return randomUUID()
  if (!isGuid(value)) throw new EmulatorError('INVALID_ARGUMENT', `${what} must be a GUID; got '${value}'.`)
  return value.toLowerCase()
}

/** Strips one trailing slash: `https://localhost:8444/` → `https://localhost:8444`. */
export function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url
}

export const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10'
const GROUP_MEMBERSHIP_CLAIMS: readonly GroupMembershipClaims[] = [
  'None',
  'SecurityGroup',
  'DirectoryRole',
  'ApplicationGroup',
  'All',
]

export function groupMembershipClaimsOf(value: unknown, appName: string): GroupMembershipClaims {
  if (GROUP_MEMBERSHIP_CLAIMS.includes(value as GroupMembershipClaims)) return value as GroupMembershipClaims
  throw new EmulatorError(
    'INVALID_ARGUMENT',
    `The groupMembershipClaims of app '${appName}' must be one of ${GROUP_MEMBERSHIP_CLAIMS.join(', ')}.`,
  )
}

export function directoryRolesOf(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.some((id) => !isGuid(id)))
    throw new EmulatorError('INVALID_ARGUMENT', 'directoryRoles must be role template ids (GUIDs).')
  return ids.map((id: string) => id.toLowerCase())
}

export function tokenVersionOf(value: unknown, appName: string): 1 | 2 {
  if (value === undefined || value === 2) return 2
  if (value === null || value === 1) return 1
  throw new EmulatorError(
    'INVALID_ARGUMENT',
    `The requestedAccessTokenVersion of app '${appName}' must be 1, 2 or null (null means 1, as in Entra); got ${JSON.stringify(value)}.`,
  )
}

/** The credential of a certificate seed: a generated certificate (shared by key with `shareKey`) or a PEM one. */
export async function certificateOf(
  seed: CertificateSeed,
  appName: string,
  shareKey?: string,
): Promise<CertificateCredential> {
  if ('generate' in seed) {
    const subject = seed.subject ?? appName
    const pair = shareKey
      ? await sharedSelfSignedCertificate(shareKey, subject)
      : await generateSelfSignedCertificate(subject)
    return certificateCredential(pair.certificatePem, pair.privateKeyPem)
  }
  try {
    return certificateCredential(seed.certificatePem, seed.privateKeyPem)
  } catch (cause) {
    throw new EmulatorError(
      'INVALID_ARGUMENT',
      `The certificate of app '${appName}' is not a PEM X.509 certificate.`,
      {
        cause,
      },
    )
  }
}
