import type { ColumnSeed, ColumnType, TableSeed } from '../world/dataverse-seed.ts'

export type { ColumnSeed, ColumnType, TableSeed } from '../world/dataverse-seed.ts'

export interface ColumnDef {
  name: string
  type: ColumnType
  /** Index in a row's value array. */
  index: number
  target?: string
  navigation?: string
  maxLength: number
  readOnly: boolean
}

export interface NavigationDef {
  name: string
  kind: 'single' | 'collection'
  /** Logical name of the table on the other side. */
  target: string
  /** single: the lookup column on this table; collection (1:N): the lookup column on the target table. */
  column?: string
  /** For N:N relationships: the relationship name (also the navigation name on both sides). */
  manyToMany?: string
}

export interface TableDef {
  logicalName: string
  entitySetName: string
  schemaName: string
  primaryId: string
  primaryName: string
  columns: ColumnDef[]
  byName: Map<string, ColumnDef>
  /** `_x_value` → the lookup column `x`. */
  byLookupValue: Map<string, ColumnDef>
  alternateKeys: string[][]
  navigations: Map<string, NavigationDef>
  /** Columns maintained by the emulator (audit, version, owner). */
  systemColumns: Set<string>
  /** Row indexes of the system columns (-1 when the table has none, e.g. no ownerid). */
  sys: Record<SystemColumn, number>
}

export type SystemColumn =
  | 'createdon'
  | 'modifiedon'
  | 'createdby'
  | 'modifiedby'
  | 'createdonbehalfby'
  | 'modifiedonbehalfby'
  | 'ownerid'
  | 'versionnumber'
  | 'statecode'
  | 'statuscode'

/** Audit and system columns every table gets. */
const SYSTEM_COLUMNS: ColumnSeed[] = [
  { name: 'createdon', type: 'datetime', readOnly: true },
  { name: 'modifiedon', type: 'datetime', readOnly: true },
  { name: 'createdby', type: 'lookup', target: 'systemuser', readOnly: true },
  { name: 'modifiedby', type: 'lookup', target: 'systemuser', readOnly: true },
  { name: 'createdonbehalfby', type: 'lookup', target: 'systemuser', readOnly: true },
  { name: 'modifiedonbehalfby', type: 'lookup', target: 'systemuser', readOnly: true },
  { name: 'ownerid', type: 'lookup', target: 'systemuser' },
  { name: 'versionnumber', type: 'bigint', readOnly: true },
  { name: 'statecode', type: 'picklist' },
  { name: 'statuscode', type: 'picklist' },
]

const NO_OWNER = new Set(['businessunit', 'role', 'systemuser'])

/** Build a table definition from its seed, adding the primary id, primary name and system columns. */
export function defineTable(seed: TableSeed): TableDef {
  if (!/^[a-z][a-z0-9_]*$/.test(seed.logicalName)) {
    throw new Error(
      `Table logical name '${seed.logicalName}' must be lowercase letters, digits and underscores.`,
    )
  }
  const primaryId = seed.primaryId ?? `${seed.logicalName}id`
  const primaryName = seed.primaryName ?? 'name'
  const list: ColumnSeed[] = [{ name: primaryId, type: 'uniqueidentifier', readOnly: false }]
  const declared = seed.columns ?? []
  if (!declared.some((c) => c.name === primaryName))
    list.push({ name: primaryName, type: 'string', maxLength: 160 })
  list.push(...declared.filter((c) => c.name !== primaryId))
  for (const s of SYSTEM_COLUMNS) {
    if (NO_OWNER.has(seed.logicalName) && s.name === 'ownerid') continue
    if (!list.some((c) => c.name === s.name)) list.push(s)
  }
  const columns: ColumnDef[] = list.map((c, i) => ({
    name: c.name,
    type: c.type,
    index: i + 1, // index 0 of a row holds its insertion sequence
    ...(c.target === undefined ? {} : { target: c.target }),
    ...(c.type === 'lookup' ? { navigation: c.navigation ?? c.name } : {}),
    maxLength: c.maxLength ?? (c.type === 'memo' ? 1_048_576 : c.type === 'string' ? 4000 : 0),
    readOnly: c.readOnly ?? false,
  }))
  const byName = new Map(columns.map((c) => [c.name, c]))
  const byLookupValue = new Map(
    columns.filter((c) => c.type === 'lookup').map((c) => [`_${c.name}_value`, c]),
  )
  const navigations = new Map<string, NavigationDef>()
  for (const c of columns) {
    if (c.type === 'lookup' && c.navigation && c.target) {
      navigations.set(c.navigation, { name: c.navigation, kind: 'single', target: c.target, column: c.name })
    }
  }
  const keys = seed.alternateKeys ?? []
  for (const key of keys) {
    for (const k of key) {
      if (!byName.has(k))
        throw new Error(`Alternate key column '${k}' is not a column of '${seed.logicalName}'.`)
    }
  }
  return {
    logicalName: seed.logicalName,
    entitySetName: seed.entitySetName ?? `${seed.logicalName}s`,
    schemaName: seed.schemaName ?? seed.logicalName,
    primaryId,
    primaryName,
    columns,
    byName,
    byLookupValue,
    alternateKeys: keys,
    navigations,
    systemColumns: new Set(
      SYSTEM_COLUMNS.map((c) => c.name).filter((n) => !declared.some((d) => d.name === n)),
    ),
    sys: Object.fromEntries(SYSTEM_COLUMNS.map((c) => [c.name, byName.get(c.name)?.index ?? -1])) as Record<
      SystemColumn,
      number
    >,
  }
}

/** The tables every org has. */
export const BUILTIN_TABLES: TableSeed[] = [
  {
    logicalName: 'businessunit',
    schemaName: 'BusinessUnit',
    columns: [
      { name: 'name', type: 'string', maxLength: 160 },
      {
        name: 'parentbusinessunitid',
        type: 'lookup',
        target: 'businessunit',
        reverseNavigation: 'business_unit_parent_business_unit',
      },
      { name: 'divisionname', type: 'string' },
    ],
  },
  {
    logicalName: 'role',
    schemaName: 'Role',
    columns: [
      { name: 'name', type: 'string', maxLength: 100 },
      {
        name: 'businessunitid',
        type: 'lookup',
        target: 'businessunit',
        reverseNavigation: 'business_unit_roles',
      },
      { name: 'parentrootroleid', type: 'lookup', target: 'role' },
      { name: 'ismanaged', type: 'boolean' },
    ],
  },
  {
    logicalName: 'systemuser',
    schemaName: 'SystemUser',
    primaryName: 'fullname',
    columns: [
      { name: 'fullname', type: 'string', maxLength: 200 },
      { name: 'firstname', type: 'string', maxLength: 64 },
      { name: 'lastname', type: 'string', maxLength: 64 },
      { name: 'domainname', type: 'string', maxLength: 1024 },
      { name: 'internalemailaddress', type: 'string', maxLength: 100 },
      { name: 'applicationid', type: 'uniqueidentifier' },
      { name: 'azureactivedirectoryobjectid', type: 'uniqueidentifier' },
      { name: 'isdisabled', type: 'boolean' },
      { name: 'accessmode', type: 'picklist' },
      {
        name: 'businessunitid',
        type: 'lookup',
        target: 'businessunit',
        reverseNavigation: 'business_unit_system_users',
      },
    ],
  },
  {
    logicalName: 'account',
    schemaName: 'Account',
    columns: [
      { name: 'name', type: 'string', maxLength: 160 },
      { name: 'accountnumber', type: 'string', maxLength: 20 },
      { name: 'telephone1', type: 'string', maxLength: 50 },
      { name: 'emailaddress1', type: 'string', maxLength: 100 },
      { name: 'websiteurl', type: 'string', maxLength: 200 },
      { name: 'address1_city', type: 'string', maxLength: 80 },
      { name: 'address1_country', type: 'string', maxLength: 80 },
      { name: 'description', type: 'memo' },
      { name: 'revenue', type: 'money' },
      { name: 'numberofemployees', type: 'integer' },
      { name: 'creditonhold', type: 'boolean' },
      { name: 'industrycode', type: 'picklist' },
      {
        name: 'primarycontactid',
        type: 'lookup',
        target: 'contact',
        reverseNavigation: 'account_primary_contact',
      },
      {
        name: 'parentaccountid',
        type: 'lookup',
        target: 'account',
        reverseNavigation: 'account_parent_account',
      },
    ],
    alternateKeys: [['accountnumber']],
  },
  {
    logicalName: 'contact',
    schemaName: 'Contact',
    primaryName: 'fullname',
    columns: [
      { name: 'fullname', type: 'string', maxLength: 160, readOnly: true },
      { name: 'firstname', type: 'string', maxLength: 50 },
      { name: 'lastname', type: 'string', maxLength: 50 },
      { name: 'emailaddress1', type: 'string', maxLength: 100 },
      { name: 'telephone1', type: 'string', maxLength: 50 },
      { name: 'jobtitle', type: 'string', maxLength: 100 },
      { name: 'birthdate', type: 'datetime' },
      { name: 'description', type: 'memo' },
      {
        name: 'parentcustomerid',
        type: 'lookup',
        target: 'account',
        navigation: 'parentcustomerid_account',
        reverseNavigation: 'contact_customer_accounts',
      },
    ],
    alternateKeys: [['emailaddress1']],
  },
]

/** Collection-valued navigation properties implied by lookups (`reverseNavigation`) and the N:N role relationship. */
export function linkNavigations(defs: Map<string, TableDef>, seeds: TableSeed[]): void {
  for (const seed of seeds) {
    const def = defs.get(seed.logicalName)
    if (!def) continue
    for (const c of seed.columns ?? []) {
      if (c.type !== 'lookup' || !c.target) continue
      const target = defs.get(c.target)
      if (!target)
        throw new Error(`Lookup '${seed.logicalName}.${c.name}' targets unknown table '${c.target}'.`)
      const name = c.reverseNavigation ?? `${seed.logicalName}_${c.name}_${c.target}`
      target.navigations.set(name, { name, kind: 'collection', target: def.logicalName, column: c.name })
    }
  }
  const user = defs.get('systemuser')
  const role = defs.get('role')
  if (user && role) {
    const name = 'systemuserroles_association'
    user.navigations.set(name, { name, kind: 'collection', target: 'role', manyToMany: name })
    role.navigations.set(name, { name, kind: 'collection', target: 'systemuser', manyToMany: name })
  }
}
