import { isCoreError } from '@dataverse-s2s/core'
import { type DataverseClient, guid, isDataverseError, odata } from '@dataverse-s2s/webapi'

/** What went wrong while connecting an org, with the next step for the admin. */
export class OnboardingError extends Error {
  override name = 'OnboardingError'
  constructor(
    readonly code:
      | 'NOT_ORG_ADMIN'
      | 'NOT_ORG_USER'
      | 'ROLE_MISSING'
      | 'CONSENT_MISSING'
      | 'APPLICATION_USER_MISSING'
      | 'PRIVILEGE_MISSING'
      | 'ORG_UNREACHABLE',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

interface Id {
  [key: string]: unknown
}

/**
 * Creates (or re-enables) the app's application user in the org's root business unit and gives it the custom role,
 * using a client that carries the org administrator's own delegated token. Idempotent. See DOMAIN §1.2.
 * @throws OnboardingError with the admin's next step
 */
export async function provisionApplicationUser(
  admin: DataverseClient,
  options: { appId: string; roleName: string },
): Promise<{ systemUserId: string; created: boolean; roleAssigned: boolean }> {
  try {
    const bu = (
      await admin.query<Id>('businessunits', {
        select: ['businessunitid', 'name'],
        filter: '_parentbusinessunitid_value eq null',
      })
    ).value[0]?.businessunitid as string | undefined
    if (!bu)
      throw new OnboardingError('ORG_UNREACHABLE', 'The org has no root business unit: is the URL right?')
    const role = (
      await admin.query<Id>('roles', {
        select: ['roleid'],
        filter: odata`name eq ${options.roleName} and _businessunitid_value eq ${guid(bu)}`,
      })
    ).value[0]?.roleid as string | undefined
    if (!role) {
      throw new OnboardingError(
        'ROLE_MISSING',
        `The security role "${options.roleName}" is not in this org: import the app's solution (it contains the role), then try again.`,
      )
    }
    const existing = (
      await admin.query<Id>('systemusers', {
        select: ['systemuserid', 'isdisabled'],
        filter: odata`applicationid eq ${guid(options.appId)}`,
      })
    ).value[0]
    let systemUserId = existing?.systemuserid as string | undefined
    let created = false
    if (!systemUserId) {
      systemUserId = await admin.create('systemusers', {
        applicationid: options.appId,
        'businessunitid@odata.bind': `/businessunits(${bu})`,
        accessmode: 4,
        isdisabled: false,
      })
      created = true
    } else if (existing?.isdisabled === true) {
      await admin.update('systemusers', systemUserId, { isdisabled: false })
    }
    const roles = await admin.request<{ value?: Id[] }>({
      method: 'GET',
      path: `systemusers(${systemUserId})/systemuserroles_association`,
      query: '?$select=roleid',
    })
    const has = (roles.body?.value ?? []).some((r) => String(r.roleid).toLowerCase() === role.toLowerCase())
    if (!has) {
      await admin.associate('systemusers', systemUserId, 'systemuserroles_association', {
        entitySet: 'roles',
        key: role,
      })
    }
    return { systemUserId, created, roleAssigned: !has }
  } catch (error) {
    throw asOnboardingError(error, 'admin')
  }
}

/**
 * Checks the connection as the app itself: an app-only token, WhoAmI (the application user exists and is enabled),
 * and a read of accounts (the role grants what the app uses).
 * @throws OnboardingError with the admin's next step
 */
export async function verifyConnection(app: DataverseClient): Promise<string> {
  try {
    const me = await app.whoAmI()
    await app.query('accounts', { select: ['accountid'], top: 1 })
    return `Signed in to the org as application user ${me.userId}; reading accounts works.`
  } catch (error) {
    throw asOnboardingError(error, 'app')
  }
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
      {
        cause: error,
      },
    )
  }
  if (isDataverseError(error)) {
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
            'The application user lacks a privilege the app needs (read accounts): give it the app’s security role, then verify again.',
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
  return error
}
