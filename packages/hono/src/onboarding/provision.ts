import { isCoreError } from '@dataverse-s2s/core'
import {
  type DataverseClient,
  ensureApplicationUser,
  isDataverseError,
  verifyAccess,
} from '@dataverse-s2s/webapi'

/** Why connecting an org failed; the router answers it as a lower-case `code` with the admin's next step. */
export type ConnectionProblem =
  | 'NOT_ORG_ADMIN'
  | 'NOT_ORG_USER'
  | 'ROLE_MISSING'
  | 'CONSENT_MISSING'
  | 'APPLICATION_USER_MISSING'
  | 'PRIVILEGE_MISSING'
  | 'ORG_UNREACHABLE'

export class OnboardingError extends Error {
  override name = 'OnboardingError'
  constructor(
    readonly code: ConnectionProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Creates (or re-enables) the app's application user in the org's root business unit and gives it the custom role,
 * with a client that carries the org administrator's own delegated token. Idempotent. See DOMAIN §1.2.
 * @throws OnboardingError with the admin's next step
 */
export async function provisionApplicationUser(
  admin: DataverseClient,
  options: { appId: string; roleName: string },
): Promise<{ systemUserId: string; created: boolean }> {
  try {
    const result = await ensureApplicationUser(admin, {
      applicationId: options.appId,
      roles: [options.roleName],
    })
    return { systemUserId: result.systemUserId, created: result.created }
  } catch (error) {
    if (isDataverseError(error) && error.code === 'NOT_FOUND' && error.status === undefined) {
      throw new OnboardingError(
        'ROLE_MISSING',
        `The security role "${options.roleName}" is not in this org: import the app's solution (it contains the role), then try again.`,
        { cause: error },
      )
    }
    throw asOnboardingError(error, 'admin')
  }
}

/**
 * Checks the connection as the app itself: an app-only token, WhoAmI (the application user exists and is enabled),
 * and a read of the tables the app uses.
 * @throws OnboardingError with the admin's next step
 */
export async function verifyConnection(app: DataverseClient, tables: readonly string[]): Promise<string> {
  let report: Awaited<ReturnType<typeof verifyAccess>>
  try {
    report = await verifyAccess(app, { readableEntitySets: [...tables] })
  } catch (error) {
    throw asOnboardingError(error, 'app')
  }
  const problem = report.problems[0]
  if (!problem)
    return `Signed in to the org as application user ${report.userId}; reading ${tables.join(' and ')} works.`
  if (problem.error) throw asOnboardingError(problem.error, 'app')
  throw new OnboardingError('PRIVILEGE_MISSING', problem.message)
}

function asOnboardingError(error: unknown, who: 'admin' | 'app'): unknown {
  if (error instanceof OnboardingError) return error
  const cause = isDataverseError(error) && error.code === 'TOKEN' ? error.cause : error
  if (isCoreError(cause)) {
    if (cause.code === 'APP_NOT_FOUND_IN_TENANT' || cause.code === 'CONSENT_REQUIRED') {
      return new OnboardingError(
        'CONSENT_MISSING',
        'The app has no consent in your tenant (it may have been removed): connect your organization again to give admin consent.',
        { cause: error },
      )
    }
    return new OnboardingError(
      'ORG_UNREACHABLE',
      'The app could not get a token for your org: check the org URL, then try again.',
      { cause: error },
    )
  }
  if (!isDataverseError(error)) return error
  if (error.status === 403 && error.serviceCode === '0x80072560') {
    return who === 'admin'
      ? new OnboardingError(
          'NOT_ORG_USER',
          'Your account is not a user of this org: sign in with an administrator of the org.',
          { cause: error },
        )
      : new OnboardingError(
          'APPLICATION_USER_MISSING',
          'The org has no (enabled) application user for this app: set it up automatically, or create it by hand as described, then verify again.',
          { cause: error },
        )
  }
  if (error.status === 403 || error.status === 401) {
    return who === 'admin'
      ? new OnboardingError(
          'NOT_ORG_ADMIN',
          'Your account may not create users or assign roles in this org: sign in as a System Administrator of the org, or follow the manual steps.',
          { cause: error },
        )
      : new OnboardingError(
          'PRIVILEGE_MISSING',
          'The application user lacks a privilege the app needs: give it the app’s security role, then verify again.',
          { cause: error },
        )
  }
  return new OnboardingError(
    'ORG_UNREACHABLE',
    `The org answered ${error.status ?? error.code}: try again later.`,
    {
      cause: error,
    },
  )
}
