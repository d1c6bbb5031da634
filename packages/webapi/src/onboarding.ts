import type { DataverseClient } from './client-types.ts'
import { DataverseError, isDataverseError } from './errors.ts'
import { guid, odata } from './filter.ts'
import type { Row } from './row.ts'
import type { CallOptions } from './types.ts'

/** The root business unit of an org. */
export interface BusinessUnit {
  businessUnitId: string
  name: string
}

/**
 * Finds the org's root business unit (the one without a parent), where application users normally live.
 * @throws {DataverseError} `NOT_FOUND` if the org has none (never on a healthy org), or the request's error.
 * @example
 * const { businessUnitId, name } = await getRootBusinessUnit(adminClient)
 */
export async function getRootBusinessUnit(
  client: DataverseClient,
  options?: CallOptions,
): Promise<BusinessUnit> {
  const page = await client.query<{ businessunitid: string; name: string }>('businessunits', {
    select: ['businessunitid', 'name'],
    filter: odata`_parentbusinessunitid_value eq ${null}`,
    ...options,
  })
  const root = page.value[0]
  if (!root)
    throw new DataverseError(
      'NOT_FOUND',
      'The org has no root business unit (no business unit without a parent).',
    )
  return { businessUnitId: root.businessunitid, name: root.name }
}

export interface EnsureApplicationUserOptions extends CallOptions {
  /** The app registration's application (client) id. */
  applicationId: string
  /** Names of the security roles to hold, e.g. `['Dataverse S2S Connector']` (each BU has its own copy). */
  roles: readonly string[]
  /** Business unit to create the user in. Default: the root business unit. */
  businessUnitId?: string
  /**
   * Re-enable the user if it exists but is disabled. Default false: a customer's administrator who disabled the
   * application user has stopped the app in their org on purpose (their emergency stop), so it stays disabled
   * and the result reports `disabled: true`. Pass `true` only when that administrator asked for it.
   */
  enable?: boolean
}

/** What {@link ensureApplicationUser} found and did: the application user, and whether it was created, enabled or left disabled. */
export interface EnsureApplicationUserResult {
  systemUserId: string
  businessUnitId: string
  /** Whether the application user was created by this call. */
  created: boolean
  /** Whether a disabled user was enabled (only with `enable: true`). */
  enabled: boolean
  /** Whether the application user exists but is disabled and was left so: the app cannot act in this org. */
  disabled: boolean
  /** Roles this call associated (the ones the user did not already hold). */
  rolesAdded: string[]
}

interface SystemUserRow {
  systemuserid: string
  isdisabled?: boolean
  _businessunitid_value?: string
}

/**
 * Creates the application user of `applicationId` in the org (if missing) and gives it `roles`, using the role copies
 * that belong to the user's business unit. A disabled application user is never re-enabled unless `enable: true`
 * is passed; it is reported as `disabled: true`. Idempotent: a second call changes nothing and reports `created: false`,
 * `rolesAdded: []`. The client must act as an admin of that org (an admin user's delegated token, or a privileged
 * application user). See powerapps-docs "create an application user" (POST systemusers with applicationid).
 * @throws {DataverseError} `NOT_FOUND` when a role does not exist in the business unit; `FORBIDDEN` when the
 * caller lacks privileges; `INVALID_ARGUMENT` when `applicationId` is not a GUID.
 * @example
 * const result = await ensureApplicationUser(adminClient, { applicationId: clientId, roles: ['Dataverse S2S Connector'] })
 */
export async function ensureApplicationUser(
  client: DataverseClient,
  options: EnsureApplicationUserOptions,
): Promise<EnsureApplicationUserResult> {
  const appId = guid(options.applicationId)
  const call: CallOptions = {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    impersonate: options.impersonate,
  }
  const existing = await client.query<SystemUserRow>('systemusers', {
    select: ['systemuserid', 'isdisabled', '_businessunitid_value'],
    filter: odata`applicationid eq ${appId}`,
    ...call,
  })
  let user = existing.value[0]
  let created = false
  let enabled = false
  let disabled = false
  let businessUnitId = options.businessUnitId ?? user?._businessunitid_value
  if (!user) {
    businessUnitId ??= (await getRootBusinessUnit(client, call)).businessUnitId
    const systemUserId = await client.create(
      'systemusers',
      {
        applicationid: appId.guid,
        'businessunitid@odata.bind': `/businessunits(${guid(businessUnitId).guid})`,
        accessmode: 4,
        isdisabled: false,
      },
      // Creating twice is prevented by the lookup above; a retried create would at worst fail on the duplicate.
      call,
    )
    user = { systemuserid: systemUserId, isdisabled: false }
    created = true
  } else if (user.isdisabled && options.enable === true) {
    await client.update('systemusers', user.systemuserid, { isdisabled: false }, call)
    enabled = true
  } else if (user.isdisabled) {
    disabled = true
  }
  businessUnitId ??= (await getRootBusinessUnit(client, call)).businessUnitId

  const held = new Set<string>()
  if (!created) {
    const current = await client.retrieve<{ systemuserroles_association?: { roleid: string }[] }>(
      'systemusers',
      user.systemuserid,
      {
        select: ['systemuserid'],
        expand: [{ property: 'systemuserroles_association', select: ['roleid'] }],
        ...call,
      },
    )
    for (const role of current.systemuserroles_association ?? []) held.add(role.roleid.toLowerCase())
  }
  const rolesAdded: string[] = []
  for (const name of options.roles) {
    const found = await client.query<{ roleid: string }>('roles', {
      select: ['roleid'],
      filter: odata`name eq ${name} and _businessunitid_value eq ${guid(businessUnitId)}`,
      ...call,
    })
    const role = found.value[0]
    if (!role) {
      throw new DataverseError(
        'NOT_FOUND',
        `Security role ${JSON.stringify(name)} does not exist in business unit ${businessUnitId}; import the solution that defines it first.`,
      )
    }
    if (held.has(role.roleid.toLowerCase())) continue
    await client.associate(
      'systemusers',
      user.systemuserid,
      'systemuserroles_association',
      {
        entitySet: 'roles',
        key: role.roleid,
      },
      call,
    )
    rolesAdded.push(name)
  }
  return { systemUserId: user.systemuserid, businessUnitId, created, enabled, disabled, rolesAdded }
}

export interface VerifyAccessOptions extends CallOptions {
  /** Roles the caller should hold (by name). */
  expectedRoles?: readonly string[]
  /** Entity sets the caller should be able to read (one `$top=1` query each). */
  readableEntitySets?: readonly string[]
}

/** One thing that is missing, with what to do about it. */
export interface AccessProblem {
  kind:
    | 'NO_APPLICATION_USER'
    | 'TOKEN_REJECTED'
    | 'NO_ROLES'
    | 'MISSING_ROLE'
    | 'CANNOT_VERIFY_ROLES'
    | 'CANNOT_READ'
    | 'UNREACHABLE'
  message: string
  /** The Dataverse error behind the problem, if any. */
  error?: DataverseError
}

/** What {@link verifyAccess} found: `ok` when the app can act in the org, otherwise every problem with its fix. */
export interface VerifyAccessReport {
  ok: boolean
  /** From WhoAmI, when it succeeded. */
  userId?: string
  businessUnitId?: string
  organizationId?: string
  /** Roles the caller holds; `undefined` when it may not read roles (no prvReadRole). */
  roles?: string[]
  problems: AccessProblem[]
}

/**
 * Runs WhoAmI as the client's identity and reports precisely what is missing (no application user, disabled user,
 * missing roles, tables it cannot read). Never throws for access problems: they are in `problems`.
 * @example
 * const report = await verifyAccess(client, { expectedRoles: ['Dataverse S2S Connector'], readableEntitySets: ['accounts'] })
 * if (!report.ok) console.warn(report.problems.map((p) => p.message))
 */
export async function verifyAccess(
  client: DataverseClient,
  options: VerifyAccessOptions = {},
): Promise<VerifyAccessReport> {
  const call: CallOptions = {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    impersonate: options.impersonate,
  }
  const report: VerifyAccessReport = { ok: false, problems: [] }
  let who: Awaited<ReturnType<DataverseClient['whoAmI']>>
  try {
    who = await client.whoAmI(call)
  } catch (error) {
    if (!isDataverseError(error)) throw error
    report.problems.push(problemFromWhoAmI(error))
    return report
  }
  report.userId = who.userId
  report.businessUnitId = who.businessUnitId
  report.organizationId = who.organizationId
  // WhoAmI succeeding already proves an enabled application user. Its roles are readable only with prvReadRole,
  // which a least-privilege custom role often lacks: then they are reported as unknown.
  try {
    const user = await client.retrieve<Row & { systemuserroles_association?: { name: string }[] }>(
      'systemusers',
      who.userId,
      {
        select: ['systemuserid'],
        expand: [{ property: 'systemuserroles_association', select: ['name'] }],
        ...call,
      },
    )
    report.roles = (user.systemuserroles_association ?? []).map((r) => r.name)
    if (report.roles.length === 0) {
      report.problems.push({
        kind: 'NO_ROLES',
        message: 'The user holds no security role: assign one (ensureApplicationUser does).',
      })
    }
    for (const role of options.expectedRoles ?? []) {
      if (!report.roles.includes(role)) {
        report.problems.push({
          kind: 'MISSING_ROLE',
          message: `The user does not hold the role ${JSON.stringify(role)}.`,
        })
      }
    }
  } catch (error) {
    if (!isDataverseError(error)) throw error
    if (options.expectedRoles?.length) {
      report.problems.push({
        kind: 'CANNOT_VERIFY_ROLES',
        message: `Cannot read the caller's roles to check ${options.expectedRoles.join(', ')} (${error.serviceCode ?? error.code}): grant read on roles (prvReadRole) or check access with readableEntitySets instead.`,
        error,
      })
    }
  }
  for (const entitySet of options.readableEntitySets ?? []) {
    try {
      await client.query(entitySet, { top: 1, ...call })
    } catch (error) {
      if (!isDataverseError(error)) throw error
      report.problems.push({
        kind: 'CANNOT_READ',
        message: `Cannot read ${entitySet} (${error.status ?? error.code}${error.serviceCode ? ` ${error.serviceCode}` : ''}): ${error.message}`,
        error,
      })
    }
  }
  report.ok = report.problems.length === 0
  return report
}

function problemFromWhoAmI(error: DataverseError): AccessProblem {
  if (error.serviceCode === '0x80072560' || (error.status === 403 && /not a member/i.test(error.message))) {
    return {
      kind: 'NO_APPLICATION_USER',
      message:
        'This app has no (enabled) application user in the org: an admin must create it (ensureApplicationUser).',
      error,
    }
  }
  if (error.status === 401) {
    return {
      kind: 'TOKEN_REJECTED',
      message: 'The org rejected the token: check the tenant, the org URL (audience) and consent.',
      error,
    }
  }
  return { kind: 'UNREACHABLE', message: `WhoAmI failed: ${error.message}`, error }
}
