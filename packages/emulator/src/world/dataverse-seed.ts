// The seed file's Dataverse shapes live here, below both world/types.ts and dataverse/, so neither imports the other.

/** Attribute types the emulator stores; they map to the CSDL types in `$metadata`. */
export type ColumnType =
  | 'uniqueidentifier'
  | 'string'
  | 'memo'
  | 'integer'
  | 'bigint'
  | 'decimal'
  | 'money'
  | 'double'
  | 'boolean'
  | 'datetime'
  | 'picklist'
  | 'multiselectpicklist'
  | 'lookup'
  | 'file'

/** One table a multi-table lookup can point at (`ColumnSeed.targets`). */
export interface LookupTargetSeed {
  /** Logical name of the table. */
  table: string
  /** The single-valued navigation property to it (default: `<column>_<table>`, e.g. `parentcustomerid_account`). */
  navigation?: string
  /** The collection-valued navigation property on that table (default: `<this table>_<column>_<table>`). */
  reverseNavigation?: string
}

/** A column as a seed declares it. */
export interface ColumnSeed {
  name: string
  /**
   * The stored type; `customer` is a Customer lookup (AttributeType `Customer`), a lookup whose `targets` default to
   * account and contact.
   */
  type: ColumnType | 'customer'
  /** For `lookup`: the logical name of the referenced table. */
  target?: string
  /**
   * For `lookup` / `customer`: several referenced tables (a multi-table lookup), each reached by its own navigation
   * property; instead of `target`, `navigation` and `reverseNavigation`.
   */
  targets?: (string | LookupTargetSeed)[]
  /** For `lookup`: the single-valued navigation property (default: the column name). */
  navigation?: string
  /** For `lookup`: the collection-valued navigation property on the target table, e.g. `contact_customer_accounts`. */
  reverseNavigation?: string
  /** For `string` / `memo`: maximum length (default 100 / 2000). */
  maxLength?: number
  /**
   * For `file`: FileAttributeMetadata.MaxSizeInKB, the largest file the column takes (Learn, FileAttributeMetadata:
   * default 32,768 KB, at most 10,485,760 KB). A file column also gets its read-only `<name>_name` column.
   */
  maxSizeInKB?: number
  /** The column cannot be set by callers (system-managed). */
  readOnly?: boolean
  /** Display name in the table definitions (default: derived from the logical name). */
  displayName?: string
  /** `RequiredLevel` in the table definitions (default `None`; the primary name is `ApplicationRequired`). */
  requiredLevel?: 'None' | 'SystemRequired' | 'ApplicationRequired' | 'Recommended'
  /**
   * For `picklist` and `multiselectpicklist` (and `statecode` / `statuscode`): the choice's local options. `statuscode` options name their
   * `state`. Booleans get Yes (1) / No (0) unless given here.
   */
  options?: OptionSeed[]
  /** For `picklist` / `multiselectpicklist`: the name of a global choice (`OrgSeed.optionSets`) instead of local `options`. */
  optionSet?: string
}

/** One option of a choice column: its value and its label (English, LCID 1033). */
export interface OptionSeed {
  value: number
  label: string
  /** For `statuscode` options: the `statecode` value the status belongs to. */
  state?: number
  /** Hex colour shown by model-driven apps, e.g. `#0000ff`. */
  color?: string
}

/** A global choice (global option set) shared by columns of any table. */
export interface OptionSetSeed {
  name: string
  displayName?: string
  options: OptionSeed[]
}

/** A table as a seed declares it (any custom table, e.g. `new_project`). */
export interface TableSeed {
  logicalName: string
  /** Default: logicalName + 's'. */
  entitySetName?: string
  /** Used in privilege names (`prvCreate{SchemaName}`). Default: logicalName. */
  schemaName?: string
  /** Default: logicalName + 'id'. */
  primaryId?: string
  /** Default: 'name' (added as a string column if missing). */
  primaryName?: string
  /** Display name in the table definitions (default: the schema name). */
  displayName?: string
  /** Plural display name (default: the display name + 's'). */
  displayCollectionName?: string
  columns?: ColumnSeed[]
  /** Alternate keys, each a list of column names. */
  alternateKeys?: string[][]
  /**
   * EntityMetadata.ChangeTrackingEnabled: the table answers `Prefer: odata.track-changes` with delta links
   * (default false; the built-in account, contact and systemuser tables have it on).
   */
  changeTracking?: boolean
  /**
   * EntityMetadata.TableType (default 'Standard'). An 'Elastic' table gets a `partitionid` text column when it does
   * not declare one and the alternate key of its id with its partitionid, answers writes with an `x-ms-session-token`
   * header, and serves `DeleteMultiple` (Microsoft Learn: Use DeleteMultiple), which standard tables refuse. Reads
   * are always consistent here, so `MSCRM.SessionToken` is accepted and changes nothing.
   */
  tableType?: 'Standard' | 'Elastic'
}

/** Dataverse's service protection limits, evaluated per caller over a sliding window (defaults: Dataverse's). */
export interface ServiceProtectionLimits {
  /** Requests per window (default 6000). */
  requestsPerWindow: number
  /** Sliding window length in seconds (default 300). */
  windowSeconds: number
  /** Combined execution time per window in milliseconds (default 1,200,000). */
  executionTimeMs: number
  /** Concurrent requests per caller (default 52). */
  concurrentRequests: number
  /** The value of the `x-ms-dop-hint` response header: the recommended degree of parallelism (default 4). */
  recommendedDegreeOfParallelism: number
}

/**
 * A security role in a seed: its name and privileges (`prvCreateAccount`, ... or `'*'` for all). A privilege holds at
 * organization level (Global) unless it names another access level after a colon: `prvReadContact:Basic` (rows the
 * user owns), `:Local` (rows owned in the user's business unit), `:Deep` (that unit and those below it). The level
 * limits which rows Read reaches (queries, `$expand`, `$filter` paths and lambdas, FetchXML links); other privileges
 * ignore it.
 */
export interface RoleSeed {
  name: string
  privileges: string[]
}

/** A Dataverse user in a seed: an Entra user (`userObjectId`) or an application user (`applicationId`). */
export interface SystemUserSeed {
  userObjectId?: string
  applicationId?: string
  roles?: string[]
  /** Business unit name (default: the root business unit). */
  businessUnit?: string
  disabled?: boolean
}

/**
 * The Dataverse side of an org in a seed file (`orgs[].dataverse`). Everything is optional: the root business unit,
 * the standard roles (System Administrator, Basic User, Delegate, Dataverse S2S Connector) and a system user for every
 * Entra user of the org's tenant always exist.
 */
export interface OrgSeed {
  /** Extra business units under the root (or under `parent`, by name). */
  businessUnits?: { name: string; parent?: string }[]
  /** Extra roles, copied into every business unit. */
  roles?: RoleSeed[]
  /**
   * Application users and explicit role assignments. When absent, every app with a service principal (consent) in the
   * org's tenant gets an application user holding the "Dataverse S2S Connector" role.
   */
  systemUsers?: SystemUserSeed[]
  /** Custom tables (accounts, contacts, systemusers, businessunits and roles are built in). */
  tables?: TableSeed[]
  /** Global choices (global option sets), referenced by a column's `optionSet`. */
  optionSets?: OptionSetSeed[]
  /** Rows by table logical name or entity set name, as Web API JSON bodies (`x@odata.bind` works). */
  rows?: Record<string, Record<string, unknown>[]>
  /** Generated sample accounts and contacts (default 200 and 300); `false` for none. */
  sampleData?: { accounts?: number; contacts?: number } | false
  limits?: Partial<ServiceProtectionLimits>
}
