import { EmulatorError } from '../errors.ts'
import { prng } from '../prng.ts'
import type { OrgSeed, RoleSeed } from '../world/dataverse-seed.ts'
import type { User } from '../world/types.ts'
import { METADATA_READ_PRIVILEGES } from './definitions.ts'
import { DataverseFault } from './errors.ts'
import type { ColumnDef } from './metadata.ts'
import type { OrgCore } from './org-core.ts'
import { parsePrivilege } from './privileges.ts'
import type { Row, Table } from './store.ts'

export type { OrgSeed, RoleSeed, SystemUserSeed } from '../world/dataverse-seed.ts'

export const CONNECTOR_ROLE = 'Dataverse S2S Connector'

const crud = (schema: string, verbs = ['Create', 'Read', 'Write', 'Delete', 'Append', 'AppendTo']) =>
  verbs.map((v) => `prv${v}${schema}`)

/** The roles every org starts with. */
export const STANDARD_ROLES: RoleSeed[] = [
  { name: 'System Administrator', privileges: ['*'] },
  {
    name: 'Basic User',
    privileges: [
      ...crud('Account', ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      ...crud('Contact', ['Create', 'Read', 'Write', 'Append', 'AppendTo']),
      'prvReadSystemUser',
      'prvReadBusinessUnit',
      'prvReadRole',
    ],
  },
  { name: 'Delegate', privileges: ['prvActOnBehalfOfAnotherUser'] },
  {
    name: CONNECTOR_ROLE,
    privileges: [...crud('Account'), ...crud('Contact'), 'prvActOnBehalfOfAnotherUser', 'prvReadSystemUser'],
  },
]

const COMPANY = [
  'Adventure',
  'Blue Yonder',
  'Coho',
  'Fourth Coffee',
  'Litware',
  'Northwind',
  'Proseware',
  'Tailspin',
  'Wide World',
  'Woodgrove',
  'Alpine',
  'Lucerne',
  'Margie',
  'Humongous',
  'Trey',
  'Wingtip',
]
const SUFFIX = [
  'Works',
  'Traders',
  'Airlines',
  'Bank',
  'Importers',
  'Research',
  'Toys',
  'Winery',
  'Publishing',
  'Insurance',
]
const FIRST = [
  'Avery',
  'Blake',
  'Casey',
  'Drew',
  'Emery',
  'Finley',
  'Harper',
  'Jordan',
  'Kai',
  'Logan',
  'Morgan',
  'Parker',
  'Quinn',
  'Riley',
  'Sawyer',
  'Taylor',
]
const LAST = [
  'Adams',
  'Baker',
  'Chen',
  'Diaz',
  'Evans',
  'Fischer',
  'Garcia',
  'Hughes',
  'Ito',
  'Jensen',
  'Khan',
  'Lopez',
  'Meyer',
  'Nguyen',
  'Okafor',
  'Patel',
]
const CITY = [
  'Seattle',
  'Redmond',
  'London',
  'Paris',
  'Berlin',
  'Tokyo',
  'Sydney',
  'Toronto',
  'Madrid',
  'Oslo',
]

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T
}

/** Deterministic sample account bodies. */
export function sampleAccounts(count: number, seed = 1): Record<string, unknown>[] {
  const rand = prng(seed)
  return Array.from({ length: count }, (_, i) => ({
    name: `${pick(rand, COMPANY)} ${pick(rand, SUFFIX)} ${i + 1}`,
    accountnumber: `ACC-${String(i + 1).padStart(7, '0')}`,
    telephone1: `+1 555 ${String(Math.floor(rand() * 10_000)).padStart(4, '0')}`,
    address1_city: pick(rand, CITY),
    revenue: Math.round(rand() * 10_000_000) / 100,
    numberofemployees: Math.floor(rand() * 5000),
    creditonhold: rand() < 0.1,
  }))
}

/** Hash a GUID string to a PRNG seed. */
export function seedOf(text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

function findRoleInBu(core: OrgCore, name: string, buId: string): Row | undefined {
  const roles = core.table('role')
  const nameCol = roles.def.byName.get('name') as ColumnDef
  const buCol = roles.def.byName.get('businessunitid') as ColumnDef
  const wanted = name.toLowerCase()
  for (const r of roles.byId.values()) {
    if (r[buCol.index] === buId && String(r[nameCol.index]).toLowerCase() === wanted) return r
  }
  return undefined
}

/** Create a role in every business unit (root copy first; others point at it through `parentrootroleid`). */
export function createRole(core: OrgCore, seed: RoleSeed): void {
  for (const entry of seed.privileges) {
    if (!parsePrivilege(entry))
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `The privilege '${entry}' of role '${seed.name}' has an unknown access level; use Basic, Local, Deep or Global after the colon (prvReadContact:Basic).`,
      )
  }
  const roles = core.table('role')
  const bus = core.table('businessunit')
  const root = core.createRow(
    undefined,
    roles,
    { name: seed.name },
    new Map([['businessunitid', core.rootBusinessUnitId]]),
  )
  const rootId = roles.id(root)
  // every security role can read the schema definitions (a default privilege of each role in Dataverse)
  core.rolePrivileges.set(rootId, new Set([...METADATA_READ_PRIVILEGES, ...seed.privileges]))
  for (const bu of bus.byId.values()) {
    const buId = bus.id(bu)
    if (buId === core.rootBusinessUnitId) continue
    copyRole(core, root, buId)
  }
  core.securityVersion++
}

function copyRole(core: OrgCore, root: Row, buId: string): void {
  const roles = core.table('role')
  const nameCol = roles.def.byName.get('name') as ColumnDef
  const rootId = roles.id(root)
  const copy = core.createRow(
    undefined,
    roles,
    { name: root[nameCol.index] },
    new Map<string, unknown>([
      ['businessunitid', buId],
      ['parentrootroleid', rootId],
    ]),
  )
  core.rolePrivileges.set(roles.id(copy), new Set(core.rolePrivileges.get(rootId)))
}

/** Give a new business unit its copies of the root business unit's roles, as Dataverse does. */
export function copyRolesInto(core: OrgCore, buId: string): void {
  const roles = core.table('role')
  const buCol = roles.def.byName.get('businessunitid') as ColumnDef
  for (const r of [...roles.byId.values()]) {
    if (r[buCol.index] === core.rootBusinessUnitId) copyRole(core, r, buId)
  }
  core.securityVersion++
}

/** Assign roles (by name, resolved in the user's business unit) to a system user. */
export function assignRoles(core: OrgCore, userId: string, roleNames: string[]): void {
  const users = core.table('systemuser')
  const user = users.get(userId)
  if (!user) throw new EmulatorError('NOT_FOUND', `System user ${userId} does not exist.`)
  const buId = user[(users.def.byName.get('businessunitid') as ColumnDef).index] as string
  for (const name of roleNames) {
    const role = findRoleInBu(core, name, buId)
    if (!role)
      throw new EmulatorError(
        'NOT_FOUND',
        `There is no security role named '${name}' in the user's business unit.`,
      )
    core.store.relate(core.userRoles, userId, core.table('role').id(role))
  }
  core.securityVersion++
}

/** The system user of an Entra user, created with `roleNames` when missing. */
export function ensureUser(core: OrgCore, user: User, roleNames: string[], buId?: string): string {
  const users = core.table('systemuser')
  const existing = users.getByKey(new Map([['azureactivedirectoryobjectid', user.objectId.toLowerCase()]]))
  if (existing) {
    assignRoles(core, users.id(existing), roleNames)
    return users.id(existing)
  }
  const names = user.displayName.split(' ')
  const row = core.createRow(
    undefined,
    users,
    {
      firstname: names[0] ?? '',
      lastname: names.slice(1).join(' '),
      fullname: user.displayName,
      domainname: user.userPrincipalName,
      internalemailaddress: user.userPrincipalName,
      azureactivedirectoryobjectid: user.objectId,
      accessmode: 0,
    },
    new Map([['businessunitid', buId ?? core.rootBusinessUnitId]]),
  )
  assignRoles(core, users.id(row), roleNames)
  return users.id(row)
}

/** Create (or find) the application user of `appId`; needs the app's service principal in the org's tenant. */
export function ensureApplicationUser(
  core: OrgCore,
  appId: string,
  roleNames: string[],
  buId?: string,
): string {
  const users = core.table('systemuser')
  const existing = users.getByKey(new Map([['applicationid', appId.toLowerCase()]]))
  let id: string
  if (existing) id = users.id(existing)
  else {
    try {
      const row = core.createRow(
        undefined,
        users,
        { applicationid: appId, accessmode: 4, isdisabled: false },
        new Map([['businessunitid', buId ?? core.rootBusinessUnitId]]),
      )
      id = users.id(row)
    } catch (e) {
      if (e instanceof DataverseFault)
        throw new EmulatorError('NO_SERVICE_PRINCIPAL', e.message, { cause: e })
      throw e
    }
  }
  assignRoles(core, id, roleNames)
  return id
}

function tableByName(core: OrgCore, name: string): Table {
  const t = core.store.tables.get(name) ?? core.store.bySet.get(name)
  if (!t) throw new EmulatorError('NOT_FOUND', `The org has no table named '${name}'.`)
  return t
}

/** Insert rows given as Web API bodies, atomically; returns their ids. */
export function insertRows(core: OrgCore, tableName: string, rows: Record<string, unknown>[]): string[] {
  const table = tableByName(core, tableName)
  try {
    return core.store.atomically(() => rows.map((r) => table.id(core.createRow(undefined, table, r))))
  } catch (e) {
    if (e instanceof DataverseFault) throw new EmulatorError('INVALID_ARGUMENT', e.message, { cause: e })
    throw e
  }
}

export { tableByName }

/** Populate a fresh org from its seed (see {@link OrgSeed}). */
export function applyOrgSeed(
  core: OrgCore,
  seed: OrgSeed,
  tenantUsers: User[],
  consentedAppIds: string[],
): void {
  const bus = core.table('businessunit')
  const users = core.table('systemuser')
  const root = core.createRow(undefined, bus, { name: core.org.uniqueName })
  core.rootBusinessUnitId = bus.id(root)
  // SYSTEM owns what the seed creates, as in a real org.
  const system = core.createRow(
    undefined,
    users,
    { fullname: 'SYSTEM', domainname: '', accessmode: 3 },
    new Map([['businessunitid', core.rootBusinessUnitId]]),
  )
  core.systemUserId = users.id(system)
  for (const b of seed.businessUnits ?? []) {
    const parent = b.parent ? findBu(core, b.parent) : core.rootBusinessUnitId
    core.createRow(undefined, bus, { name: b.name }, new Map([['parentbusinessunitid', parent]]))
  }
  for (const role of [...STANDARD_ROLES, ...(seed.roles ?? [])]) createRole(core, role)
  for (const u of tenantUsers) ensureUser(core, u, u.dataverseRoles ?? ['Basic User'])
  if (seed.systemUsers) {
    for (const s of seed.systemUsers) {
      const bu = s.businessUnit ? findBu(core, s.businessUnit) : undefined
      let id: string
      if (s.applicationId) id = ensureApplicationUser(core, s.applicationId, s.roles ?? [], bu)
      else if (s.userObjectId) {
        const u = tenantUsers.find((x) => x.objectId.toLowerCase() === s.userObjectId?.toLowerCase())
        if (!u)
          throw new EmulatorError('NOT_FOUND', `User ${s.userObjectId} is not a user of the org's tenant.`)
        id = ensureUser(core, u, s.roles ?? [], bu)
      } else
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          'A seeded system user needs userObjectId or applicationId.',
        )
      if (s.disabled) {
        const row = users.get(id) as Row
        core.store.update(
          users,
          row,
          new Map([[(users.def.byName.get('isdisabled') as ColumnDef).index, true]]),
        )
      }
    }
  } else {
    for (const appId of consentedAppIds) ensureApplicationUser(core, appId, [CONNECTOR_ROLE])
  }
  const sample = seed.sampleData === false ? { accounts: 0, contacts: 0 } : (seed.sampleData ?? {})
  const accountCount = sample.accounts ?? 200
  const contactCount = sample.contacts ?? 300
  const seedNumber = seedOf(core.org.id)
  const accountIds = insertRows(core, 'account', sampleAccounts(accountCount, seedNumber))
  const rand = prng(seedNumber ^ 0x5f3759df)
  const contacts = Array.from({ length: contactCount }, (_, i) => {
    const first = pick(rand, FIRST)
    const last = pick(rand, LAST)
    const account = accountIds.length ? accountIds[Math.floor(rand() * accountIds.length)] : undefined
    return {
      firstname: first,
      lastname: last,
      emailaddress1: `${first}.${last}.${i + 1}@example.com`.toLowerCase(),
      jobtitle: pick(rand, ['Buyer', 'CEO', 'CTO', 'Engineer', 'Manager', 'Analyst']),
      ...(account ? { 'parentcustomerid_account@odata.bind': `/accounts(${account})` } : {}),
    }
  })
  insertRows(core, 'contact', contacts)
  for (const [name, rows] of Object.entries(seed.rows ?? {})) insertRows(core, name, rows)
}

function findBu(core: OrgCore, name: string): string {
  const bus = core.table('businessunit')
  const nameCol = bus.def.byName.get('name') as ColumnDef
  for (const b of bus.byId.values()) if (b[nameCol.index] === name) return bus.id(b)
  throw new EmulatorError('NOT_FOUND', `There is no business unit named '${name}'.`)
}
