import type { Hono } from 'hono'
import { EmulatorError } from '../errors.ts'
import type { Counters, Faults } from '../faults.ts'
import type { OrgInfo, User } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { createOrgApp, type OrgState } from './app.ts'
import { enabledSystemUser, PrivilegeCache, TokenVerifier } from './auth.ts'
import { Limiter, type ServiceProtectionLimits } from './limits.ts'
import type { ColumnDef } from './metadata.ts'
import { OrgCore } from './org-core.ts'
import {
  applyOrgSeed,
  copyRolesInto,
  ensureApplicationUser,
  ensureUser,
  insertRows,
  type OrgSeed,
  tableByName,
} from './seed.ts'
import { restoreSnapshot, takeSnapshot } from './snapshot.ts'

export type {
  ColumnSeed,
  ColumnType,
  LookupTargetSeed,
  OptionSeed,
  OptionSetSeed,
  TableSeed,
} from '../world/dataverse-seed.ts'
export type { ServiceProtectionLimits } from './limits.ts'
export type { OrgSeed, RoleSeed, SystemUserSeed } from './seed.ts'

/** Options of {@link createOrg}. */
export interface CreateOrgOptions {
  world: World
  org: OrgInfo
  /** The org's Dataverse seed (`orgs[].dataverse` in a seed file). Default: the standard org (see {@link OrgSeed}). */
  seed?: OrgSeed | unknown
  faults: Faults
  counters: Counters
  /** A value from {@link OrgRuntime.snapshot} to restore instead of seeding. */
  snapshot?: unknown
}

/** What the admin API and tests use to read and change an org's data directly. */
export interface OrgData {
  /** Insert rows (Web API JSON bodies, `x@odata.bind` allowed) into a table by logical or entity set name; returns ids. */
  insertRows(table: string, rows: Record<string, unknown>[]): string[]
  count(table: string): number
  /** Logical names of the org's tables. */
  listTables(): string[]
  /** Create (or find) the application user of an app and give it roles; needs consent in the org's tenant. */
  createApplicationUser(appId: string, roleNames: string[]): string
  setApplicationUserDisabled(appId: string, disabled: boolean): void
  /** The system user of an Entra user, created when missing, with the given roles added. */
  ensureSystemUserForUser(user: User, roleNames: string[]): string
}

/** One running Dataverse organization. */
export interface OrgRuntime {
  /** Serve it at the root of the org's own origin. */
  app: Hono
  data: OrgData
  /** Change service protection limits (and the `x-ms-dop-hint`); takes effect on the next request. */
  setLimits(limits: Partial<ServiceProtectionLimits>): void
  /** The org's data as JSON, for persistence. */
  snapshot(): unknown
  /** Replace the org's data with a snapshot. */
  restore(snapshot: unknown): void
  /** Back to the seed: data, users, roles, limits and throttling windows. */
  reset(): void
}

function asSeed(seed: unknown): OrgSeed {
  if (seed === undefined || seed === null) return {}
  if (typeof seed !== 'object' || Array.isArray(seed)) {
    throw new EmulatorError('INVALID_ARGUMENT', "An org's `dataverse` seed must be an object (see OrgSeed).")
  }
  return seed as OrgSeed
}

/**
 * Create one Dataverse organization for `org` in `world`: its tables, security model and Web API app.
 * @param options.seed the Dataverse seed; default: root business unit, standard roles, a system user per Entra user of
 * the tenant, an application user (role "Dataverse S2S Connector") for each app consented in the tenant, 200 accounts
 * and 300 contacts.
 * @throws {EmulatorError} 'INVALID_ARGUMENT' for a malformed seed, 'NOT_FOUND' for names the seed cannot resolve.
 * `startEmulator` creates one per org of the world and serves its `app.fetch` on the org's own port.
 */
export function createOrg(options: CreateOrgOptions): OrgRuntime {
  const { world, org } = options
  const seed = asSeed(options.seed)
  const build = (): OrgCore => {
    let core: OrgCore
    try {
      core = new OrgCore(org, world, seed.tables ?? [], seed.optionSets ?? [])
    } catch (e) {
      throw new EmulatorError('INVALID_ARGUMENT', (e as Error).message, { cause: e })
    }
    core.onBusinessUnitCreated = (id) => copyRolesInto(core, id)
    return core
  }
  const seedCore = (): OrgCore => {
    const core = build()
    const consented = [...world.apps.values()]
      .filter((a) => world.getServicePrincipal(org.tenantId, a.appId))
      .map((a) => a.appId)
    applyOrgSeed(core, seed, world.usersOf(org.tenantId), consented)
    return core
  }
  const limiter = new Limiter()
  const state: OrgState = {
    core: options.snapshot === undefined ? seedCore() : restoreInto(build(), options.snapshot),
    org,
    world,
    verifier: new TokenVerifier(world, () => org.url, org.tenantId),
    privileges: new PrivilegeCache(),
    limiter,
    faults: options.faults,
    counters: options.counters,
  }
  const applyLimits = () => {
    limiter.limits = { ...limiter.limits }
    if (seed.limits) limiter.set(seed.limits)
  }
  applyLimits()
  const app = createOrgApp(state)
  const data: OrgData = {
    insertRows: (table, rows) => insertRows(state.core, table, rows),
    count: (table) => tableByName(state.core, table).size,
    listTables: () => [...state.core.store.tables.keys()],
    createApplicationUser: (appId, roleNames) =>
      state.core.store.atomically(() => ensureApplicationUser(state.core, appId, roleNames)),
    setApplicationUserDisabled: (appId, disabled) => {
      const users = state.core.table('systemuser')
      const row = users.getByKey(new Map([['applicationid', appId.toLowerCase()]]))
      if (!row)
        throw new EmulatorError('NOT_FOUND', `App ${appId} has no application user in org ${org.uniqueName}.`)
      state.core.touch(
        undefined,
        users,
        row,
        new Map([[(users.def.byName.get('isdisabled') as ColumnDef).index, disabled]]),
      )
    },
    ensureSystemUserForUser: (user, roleNames) =>
      state.core.store.atomically(() => ensureUser(state.core, user, roleNames)),
  }
  const runtime: OrgRuntime = {
    app,
    data,
    setLimits: (limits) => {
      try {
        limiter.set(limits)
      } catch (e) {
        throw new EmulatorError('INVALID_ARGUMENT', (e as Error).message, { cause: e })
      }
    },
    snapshot: () => takeSnapshot(state.core),
    restore: (snapshot) => {
      state.core = restoreInto(build(), snapshot)
      state.privileges = new PrivilegeCache()
      limiter.reset()
    },
    reset: () => {
      state.core = seedCore()
      state.privileges = new PrivilegeCache()
      state.verifier.clear()
      limiter.reset()
      limiter.limits = new Limiter().limits
      applyLimits()
    },
  }
  states.set(runtime, state)
  return runtime
}

/** Each running org's state, for the emulator's own services beside the org (the Global Discovery Service). */
const states = new WeakMap<OrgRuntime, OrgState>()

/**
 * Whether the Entra user `objectId` has an enabled system user in the org holding the System Administrator role (in
 * any business unit): the Global Discovery Service's `IsUserSysAdmin` for that user and instance.
 */
export function isSystemAdministrator(runtime: OrgRuntime, objectId: string): boolean {
  const core = states.get(runtime)?.core
  if (!core) return false
  const user = enabledSystemUser(core, 'azureactivedirectoryobjectid', objectId)
  if (!user) return false
  const roles = core.table('role')
  const name = (roles.def.byName.get('name') as ColumnDef).index
  for (const roleId of core.userRoles.related('systemuser', core.table('systemuser').id(user))) {
    if (roles.get(roleId)?.[name] === 'System Administrator') return true
  }
  return false
}

function restoreInto(core: OrgCore, snapshot: unknown): OrgCore {
  try {
    restoreSnapshot(core, snapshot)
  } catch (e) {
    throw new EmulatorError('STATE', `The saved org could not be restored: ${(e as Error).message}`, {
      cause: e,
    })
  }
  return core
}
