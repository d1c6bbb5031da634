import type {
  ColumnSeed,
  ColumnType,
  LookupTargetSeed,
  OptionSeed,
  OptionSetSeed,
  TableSeed,
} from '../world/dataverse-seed.ts'

/** One table a lookup can point at, and the single-valued navigation property that reaches it. */
export interface LookupTarget {
  table: string
  navigation: string
}

/** A choice's options; `global` names the global option set the column uses (absent for a local choice). */
export interface ChoiceDef {
  options: OptionSeed[]
  global?: string
}

export interface ColumnDef {
  name: string
  type: ColumnType
  /** Index in a row's value array. */
  index: number
  /** Lookups: the tables the column can point at (several for a Customer or other multi-table lookup). */
  targets?: LookupTarget[]
  /**
   * Multi-table lookups: the row slot (beyond the columns) holding the logical name of the table the value points at,
   * Dataverse's `<column>type` attribute (`parentcustomeridtype`); read it through lookupTable() in lookups.ts.
   */
  typeIndex?: number
  /** AttributeType `Customer` in the table definitions (a lookup to account or contact). */
  customer?: boolean
  maxLength: number
  readOnly: boolean
  displayName: string
  requiredLevel: NonNullable<ColumnSeed['requiredLevel']>
  /** Choice, state, status and boolean columns: their options (one source for definitions and formatted values). */
  choice?: ChoiceDef
  /** File columns: FileAttributeMetadata.MaxSizeInKB. */
  maxSizeInKB?: number
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
  displayName: string
  displayCollectionName: string
  columns: ColumnDef[]
  /** Length of a row: the sequence slot, one per column, then the type slots of multi-table lookups. */
  width: number
  /** The type slots by name (`parentcustomeridtype`), for snapshots and fixed values on create. */
  typeSlots: Map<string, number>
  byName: Map<string, ColumnDef>
  /** `_x_value` → the lookup column `x`. */
  byLookupValue: Map<string, ColumnDef>
  alternateKeys: string[][]
  navigations: Map<string, NavigationDef>
  /** Columns maintained by the emulator (audit, version, owner). */
  systemColumns: Set<string>
  /** Row indexes of the system columns (-1 when the table has none, e.g. no ownerid). */
  sys: Record<SystemColumn, number>
  /** EntityMetadata.ChangeTrackingEnabled: collection GETs accept `Prefer: odata.track-changes` (changes.ts). */
  changeTracking: boolean
  /** EntityMetadata.TableType 'Elastic' (absent: 'Standard'). */
  elastic?: true
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

const NO_OWNER = new Set(['businessunit', 'role', 'systemuser', 'usersettings'])

/** The default options of `statecode` / `statuscode` and booleans (Dataverse's defaults for a new table). */
const DEFAULT_OPTIONS: Record<string, OptionSeed[]> = {
  statecode: [
    { value: 0, label: 'Active' },
    { value: 1, label: 'Inactive' },
  ],
  statuscode: [
    { value: 1, label: 'Active', state: 0 },
    { value: 2, label: 'Inactive', state: 1 },
  ],
  boolean: [
    { value: 0, label: 'No' },
    { value: 1, label: 'Yes' },
  ],
}

function choiceOf(
  table: string,
  c: ColumnSeed,
  optionSets: ReadonlyMap<string, OptionSetSeed>,
): ChoiceDef | undefined {
  if (c.type !== 'picklist' && c.type !== 'multiselectpicklist' && c.type !== 'boolean') return undefined
  if (c.optionSet !== undefined) {
    const set = optionSets.get(c.optionSet)
    if (!set)
      throw new Error(
        `Column '${table}.${c.name}' uses unknown global choice '${c.optionSet}'; declare it in optionSets.`,
      )
    return { options: set.options, global: set.name }
  }
  const options = c.options ?? DEFAULT_OPTIONS[c.type === 'boolean' ? 'boolean' : c.name] ?? []
  const seen = new Set<number>()
  for (const o of options) {
    if (!Number.isInteger(o.value) || seen.has(o.value))
      throw new Error(
        `Column '${table}.${c.name}' has a missing, non-integer or repeated option value ${o.value}.`,
      )
    seen.add(o.value)
  }
  return { options }
}

// Learn, FileAttributeMetadata.MaxSizeInKB: default 32,768 KB (32 MB), maximum 10,485,760 KB (10 GB).
const DEFAULT_FILE_KB = 32_768
const MAX_FILE_KB = 10_485_760

/**
 * Learn, Use file column data § File name column: each file column has a read-only string column named after it with
 * `_name` appended, holding the file's name. A file column itself cannot be written by create or update.
 */
function fileNameColumns(table: string, declared: ColumnSeed[]): ColumnSeed[] {
  const out: ColumnSeed[] = []
  for (const c of declared) {
    if (c.type !== 'file') continue
    const kb = c.maxSizeInKB ?? DEFAULT_FILE_KB
    if (!Number.isInteger(kb) || kb < 1 || kb > MAX_FILE_KB)
      throw new Error(
        `File column '${table}.${c.name}' has maxSizeInKB ${kb}; use a whole number from 1 to ${MAX_FILE_KB}.`,
      )
    if (!declared.some((d) => d.name === `${c.name}_name`))
      out.push({ name: `${c.name}_name`, type: 'string', readOnly: true })
  }
  return out
}

/** 'address1_city' → 'Address1 City'. */
function titleOf(name: string): string {
  return name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ')
}

interface LookupTargetFull {
  table: string
  navigation: string
  reverseNavigation: string
}

/**
 * A lookup seed's targets with their navigation names. One `target` keeps the names it always had (navigation = the
 * column, e.g. `primarycontactid`). Several targets follow Dataverse's naming for multi-table lookups (Learn,
 * "Multi-table lookup columns"): one single-valued navigation per table, `<column>_<table>`
 * (`parentcustomerid_account`, `parentcustomerid_contact`), and one one-to-many relationship per table.
 */
function lookupTargetsOf(table: string, c: ColumnSeed): LookupTargetFull[] | undefined {
  if (c.type !== 'lookup' && c.type !== 'customer') return undefined
  if (c.targets !== undefined && c.target !== undefined)
    throw new Error(`Lookup '${table}.${c.name}' declares both target and targets; use one.`)
  if (c.targets === undefined && c.target !== undefined) {
    return [
      {
        table: c.target,
        navigation: c.navigation ?? c.name,
        reverseNavigation: c.reverseNavigation ?? `${table}_${c.name}_${c.target}`,
      },
    ]
  }
  if (c.targets !== undefined && (c.navigation !== undefined || c.reverseNavigation !== undefined))
    throw new Error(
      `Lookup '${table}.${c.name}' has targets: name its navigation properties in each target instead.`,
    )
  const list: (string | LookupTargetSeed)[] =
    c.targets ?? (c.type === 'customer' ? ['account', 'contact'] : [])
  if (list.length === 0) return c.type === 'customer' ? undefined : []
  const out = list.map((t) => {
    const s = typeof t === 'string' ? { table: t } : t
    return {
      table: s.table,
      navigation: s.navigation ?? (list.length === 1 ? c.name : `${c.name}_${s.table}`),
      reverseNavigation: s.reverseNavigation ?? `${table}_${c.name}_${s.table}`,
    }
  })
  if (new Set(out.map((t) => t.table)).size !== out.length)
    throw new Error(`Lookup '${table}.${c.name}' names a target table twice.`)
  return out
}

/** Build a table definition from its seed, adding the primary id, primary name and system columns. */
export function defineTable(
  seed: TableSeed,
  optionSets: ReadonlyMap<string, OptionSetSeed> = new Map(),
): TableDef {
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
  if (seed.tableType === 'Elastic' && !declared.some((c) => c.name === 'partitionid'))
    list.push({ name: 'partitionid', type: 'string', maxLength: 100 })
  list.push(...fileNameColumns(seed.logicalName, declared))
  for (const s of SYSTEM_COLUMNS) {
    if (NO_OWNER.has(seed.logicalName) && s.name === 'ownerid') continue
    if (!list.some((c) => c.name === s.name)) list.push(s)
  }
  let width = list.length + 1 // index 0 of a row holds its insertion sequence
  const typeSlots = new Map<string, number>()
  const columns: ColumnDef[] = list.map((c, i) => {
    const choice = choiceOf(seed.logicalName, c, optionSets)
    const targets = lookupTargetsOf(seed.logicalName, c)
    let typeIndex: number | undefined
    if (targets && targets.length > 1) {
      typeIndex = width++
      typeSlots.set(`${c.name}type`, typeIndex)
    }
    return {
      name: c.name,
      type: c.type === 'customer' ? 'lookup' : c.type,
      index: i + 1,
      ...(targets ? { targets: targets.map((t) => ({ table: t.table, navigation: t.navigation })) } : {}),
      ...(typeIndex === undefined ? {} : { typeIndex }),
      ...(c.type === 'customer' ? { customer: true } : {}),
      maxLength: c.maxLength ?? (c.type === 'memo' ? 1_048_576 : c.type === 'string' ? 4000 : 0),
      readOnly: c.readOnly ?? false,
      displayName: c.displayName ?? titleOf(c.name),
      requiredLevel:
        c.requiredLevel ??
        (c.name === primaryId ? 'SystemRequired' : c.name === primaryName ? 'ApplicationRequired' : 'None'),
      ...(choice ? { choice } : {}),
      ...(c.type === 'file' ? { readOnly: true, maxSizeInKB: c.maxSizeInKB ?? DEFAULT_FILE_KB } : {}),
    }
  })
  const byName = new Map(columns.map((c) => [c.name, c]))
  const byLookupValue = new Map(
    columns.filter((c) => c.type === 'lookup').map((c) => [`_${c.name}_value`, c]),
  )
  const navigations = new Map<string, NavigationDef>()
  for (const c of columns) {
    for (const t of c.targets ?? []) {
      navigations.set(t.navigation, { name: t.navigation, kind: 'single', target: t.table, column: c.name })
    }
  }
  const keys = [...(seed.alternateKeys ?? [])]
  // Every elastic table has the KeyForNoSqlEntityWithPKPartitionId key: its id with its partitionid (Microsoft Learn:
  // Create elastic tables using code, Alternate keys).
  if (seed.tableType === 'Elastic') keys.push([primaryId, 'partitionid'])
  for (const key of keys) {
    for (const k of key) {
      if (!byName.has(k))
        throw new Error(`Alternate key column '${k}' is not a column of '${seed.logicalName}'.`)
    }
  }
  return {
    logicalName: seed.logicalName,
    changeTracking: seed.changeTracking ?? false,
    ...(seed.tableType === 'Elastic' ? { elastic: true as const } : {}),
    entitySetName: seed.entitySetName ?? `${seed.logicalName}s`,
    schemaName: seed.schemaName ?? seed.logicalName,
    primaryId,
    primaryName,
    displayName: seed.displayName ?? seed.schemaName ?? seed.logicalName,
    displayCollectionName:
      seed.displayCollectionName ?? `${seed.displayName ?? seed.schemaName ?? seed.logicalName}s`,
    columns,
    width,
    typeSlots,
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

// Account's standard Industry choice (values and English labels as in a new Dataverse environment).
const INDUSTRY_OPTIONS: OptionSeed[] = [
  'Accounting',
  'Agriculture and Non-petrol Natural Resource Extraction',
  'Broadcasting Printing and Publishing',
  'Brokers',
  'Building Supply Retail',
  'Business Services',
  'Consulting',
  'Consumer Services',
  'Design, Direction and Creative Management',
  'Distributors, Dispatchers and Processors',
  "Doctor's Offices and Clinics",
  'Durable Manufacturing',
  'Eating and Drinking Places',
  'Entertainment Retail',
  'Equipment Rental and Leasing',
  'Financial',
  'Food and Tobacco Processing',
  'Inbound Capital Intensive Processing',
  'Inbound Repair and Services',
  'Insurance',
  'Legal Services',
  'Non-Durable Merchandise Retail',
  'Outbound Consumer Service',
  'Petrochemical Extraction and Distribution',
  'Service Retail',
  'SIG Affiliations',
  'Social Services',
  'Special Outbound Trade Contractors',
  'Specialty Realty',
  'Transportation',
  'Utility Creation and Distribution',
  'Vehicle Retail',
  'Wholesale',
].map((label, i) => ({ value: i + 1, label }))

/** The global choices every org has (a standard one of a new Dataverse environment). */
export const BUILTIN_OPTION_SETS: OptionSetSeed[] = [
  {
    name: 'budgetstatus',
    displayName: 'Budget',
    options: ['No Committed Budget', 'May Buy', 'Can Buy', 'Will Buy'].map((label, value) => ({
      value,
      label,
    })),
  },
]

/** The tables every org has. */
export const BUILTIN_TABLES: TableSeed[] = [
  {
    logicalName: 'businessunit',
    schemaName: 'BusinessUnit',
    displayName: 'Business Unit',
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
    displayName: 'User',
    primaryName: 'fullname',
    changeTracking: true,
    columns: [
      { name: 'fullname', type: 'string', maxLength: 200 },
      { name: 'firstname', type: 'string', maxLength: 64 },
      { name: 'lastname', type: 'string', maxLength: 64 },
      { name: 'domainname', type: 'string', maxLength: 1024 },
      { name: 'internalemailaddress', type: 'string', maxLength: 100 },
      { name: 'applicationid', type: 'uniqueidentifier' },
      { name: 'azureactivedirectoryobjectid', type: 'uniqueidentifier' },
      { name: 'isdisabled', type: 'boolean' },
      {
        name: 'accessmode',
        type: 'picklist',
        displayName: 'Access Mode',
        options: [
          { value: 0, label: 'Read-Write' },
          { value: 1, label: 'Administrative' },
          { value: 2, label: 'Read' },
          { value: 3, label: 'Support User' },
          { value: 4, label: 'Non-interactive' },
          { value: 5, label: 'Delegated Admin' },
        ],
      },
      {
        name: 'businessunitid',
        type: 'lookup',
        target: 'businessunit',
        reverseNavigation: 'business_unit_system_users',
      },
    ],
  },
  {
    // one row per user, keyed by the user's id; read for formatted values (see user-settings.ts)
    logicalName: 'usersettings',
    schemaName: 'UserSettings',
    displayName: 'User Settings',
    displayCollectionName: 'User Settings',
    entitySetName: 'usersettingscollection',
    primaryId: 'systemuserid',
    columns: [
      { name: 'timezonecode', type: 'integer' },
      { name: 'localeid', type: 'integer' },
      { name: 'uilanguageid', type: 'integer' },
    ],
  },
  {
    logicalName: 'account',
    schemaName: 'Account',
    displayCollectionName: 'Accounts',
    changeTracking: true,
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
      { name: 'industrycode', type: 'picklist', displayName: 'Industry', options: INDUSTRY_OPTIONS },
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
    changeTracking: true,
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
        // Customer (Learn, "Multi-table lookup columns"): an account or a contact, each with its own navigation
        // property and relationship, as in every Dataverse environment.
        name: 'parentcustomerid',
        type: 'customer',
        displayName: 'Company Name',
        targets: [
          {
            table: 'account',
            navigation: 'parentcustomerid_account',
            reverseNavigation: 'contact_customer_accounts',
          },
          {
            table: 'contact',
            navigation: 'parentcustomerid_contact',
            reverseNavigation: 'contact_customer_contacts',
          },
        ],
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
      for (const t of lookupTargetsOf(seed.logicalName, c) ?? []) {
        const target = defs.get(t.table)
        if (!target)
          throw new Error(`Lookup '${seed.logicalName}.${c.name}' targets unknown table '${t.table}'.`)
        const name = t.reverseNavigation
        target.navigations.set(name, { name, kind: 'collection', target: def.logicalName, column: c.name })
      }
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
