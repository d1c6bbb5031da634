import type { CallOptions } from './types.ts'

/** One option of a choice: its value and label (the caller's language, from `UserLocalizedLabel`). */
export interface ChoiceOption {
  /** The option's value (what rows hold). */
  value: number
  /** The label in the calling user's language; `''` when the option has none. */
  label: string
  /** Every localized label, by language code (1033 = English). */
  labels: Readonly<Record<number, string>>
  /** Status options: the `statecode` value they belong to. */
  state?: number
  /** State options: their default status. */
  defaultStatus?: number
  /** The colour model-driven apps show (`#0000ff`), when set. */
  color?: string
}

/** The kinds of choice column (`OptionSetType`). */
export type ChoiceKind = 'Picklist' | 'MultiSelectPicklist' | 'State' | 'Status' | 'Boolean'

/** A choice (option set), local to one column or global (`global: true`). */
export interface ChoiceDefinition {
  /** The option set's name (a global choice's name, or `table_column` for a local one). */
  name: string
  /** The kind of column the choice belongs to. */
  kind: ChoiceKind
  /** `true` for a global choice (shared by columns of any table). */
  global: boolean
  /** Booleans: the false option then the true option. */
  options: ChoiceOption[]
}

/** A table definition (`EntityMetadata`), with the properties apps use. */
export interface TableDefinition {
  /** `MetadataId`: stable for the life of the table. */
  metadataId: string
  /** `LogicalName` (`account`). */
  logicalName: string
  /** `SchemaName` (`Account`). */
  schemaName: string
  /** `EntitySetName`: the name in Web API URLs (`accounts`). */
  entitySetName: string
  /** `DisplayName` in the calling user's language. */
  displayName: string
  /** `DisplayCollectionName` (plural) in the calling user's language. */
  displayCollectionName: string
  /** `PrimaryIdAttribute`: the primary key column (`accountid`). */
  primaryIdAttribute: string
  /** `PrimaryNameAttribute`: the column naming a row (`name`), `null` for tables without one. */
  primaryNameAttribute: string | null
  /** `ObjectTypeCode` (1 for account; custom tables get 10,000 and up). */
  objectTypeCode: number
  /** `IsCustomEntity`. */
  isCustom: boolean
}

/** A column definition (`AttributeMetadata` and its derived types). */
export interface ColumnDefinition {
  /** `MetadataId`: stable for the life of the column. */
  metadataId: string
  /** `LogicalName` (`industrycode`). */
  logicalName: string
  /** `SchemaName` (`IndustryCode`). */
  schemaName: string
  /** `DisplayName` in the calling user's language. */
  displayName: string
  /** `AttributeType`: `String`, `Picklist`, `Lookup`, `Money`, ... */
  type: string
  /** `AttributeTypeName.Value`: `StringType`, `PicklistType`, `MultiSelectPicklistType`, ... */
  typeName: string
  /** `RequiredLevel.Value`: `None`, `SystemRequired`, `ApplicationRequired`, `Recommended`. */
  requiredLevel: string
  /** `IsPrimaryId`: the table's primary key. */
  isPrimaryId: boolean
  /** `IsPrimaryName`: the column naming a row. */
  isPrimaryName: boolean
  /** `IsValidForCreate`: may be set when creating a row. */
  isValidForCreate: boolean
  /** `IsValidForUpdate`: may be changed by an update. */
  isValidForUpdate: boolean
  /** Text columns: the maximum length. */
  maxLength?: number
  /** Lookups: the tables a value may point at. */
  targets?: string[]
  /** Choice, state, status, boolean and multi-select columns: the options. */
  choice?: ChoiceDefinition
}

/** A relationship definition, from the point of view it was asked from. */
export type RelationshipDefinition =
  | {
      /** A lookup: many rows of `referencingEntity` point at one of `referencedEntity`. */
      kind: 'OneToMany'
      /** `MetadataId` of the relationship. */
      metadataId: string
      /** `SchemaName`: the relationship's name (and the collection navigation property's). */
      schemaName: string
      /** The table the lookup points at (the "one" side). */
      referencedEntity: string
      referencedAttribute: string
      /** The table holding the lookup column (the "many" side). */
      referencingEntity: string
      referencingAttribute: string
      /** The collection-valued navigation property on the referenced table. */
      referencedNavigation: string
      /** The single-valued navigation property on the referencing table. */
      referencingNavigation: string
    }
  | {
      /** Rows of two tables related through an intersect table. */
      kind: 'ManyToMany'
      /** `MetadataId` of the relationship. */
      metadataId: string
      /** `SchemaName`: the relationship's name (and the collection navigation property's). */
      schemaName: string
      /** `Entity1LogicalName`. */
      entity1: string
      /** `Entity2LogicalName`. */
      entity2: string
      /** `IntersectEntityName`: the table holding the pairs. */
      intersectEntity: string
      /** The navigation property on entity1. */
      entity1Navigation: string
      /** The navigation property on entity2. */
      entity2Navigation: string
    }

/** Whether Dataverse has built a key's index (`EntityKeyIndexStatus`): only an `Active` key can address rows. */
export type KeyIndexStatus = 'Pending' | 'InProgress' | 'Active' | 'Failed'

/** An alternate key of a table (`EntityKeyMetadata`): the columns whose values address one row. */
export interface KeyDefinition {
  /** `MetadataId`: stable for the life of the key. */
  metadataId: string
  /** `LogicalName` of the key. */
  logicalName: string
  /** `SchemaName` of the key. */
  schemaName: string
  /** `KeyAttributes`: the columns, in the key's order (`accounts(accountnumber='A-1')` names them). */
  columns: string[]
  /** `EntityKeyIndexStatus`: a key is usable once `Active`. */
  status: KeyIndexStatus
}

/** Options of {@link DataverseDefinitions.tables}. */
export interface TablesOptions extends CallOptions {
  /** Only custom tables (`true`) or only standard ones (`false`). Default: all. */
  custom?: boolean | undefined
}

/**
 * Typed reads of an org's schema definitions (the `EntityDefinitions`, `RelationshipDefinitions` and
 * `GlobalOptionSetDefinitions` of the Web API), cached in memory per client (and the clients `as()` derives) under
 * the org's metadata version stamp: see {@link DataverseDefinitions.version}.
 */
export interface DataverseDefinitions {
  /**
   * One table by logical name.
   * @throws {DataverseError} `NOT_FOUND` when the org has no such table; `INVALID_ARGUMENT` for a malformed name.
   */
  table(logicalName: string, options?: CallOptions): Promise<TableDefinition>
  /** Every table of the org (one request). */
  tables(options?: TablesOptions): Promise<TableDefinition[]>
  /**
   * A table's columns, choice columns with their options (one request for the columns, one per choice kind).
   * @throws {DataverseError} `NOT_FOUND` when the org has no such table.
   */
  columns(logicalName: string, options?: CallOptions): Promise<ColumnDefinition[]>
  /**
   * The options of one choice, state, status, boolean or multi-select column.
   * @throws {DataverseError} `NOT_FOUND` when the table or column does not exist; `INVALID_ARGUMENT` when the
   * column is not a choice.
   */
  choice(logicalName: string, column: string, options?: CallOptions): Promise<ChoiceDefinition>
  /** A global choice (global option set) by name. @throws {DataverseError} `NOT_FOUND` when there is none. */
  globalChoice(name: string, options?: CallOptions): Promise<ChoiceDefinition>
  /** The relationships a table takes part in: one-to-many (both sides) and many-to-many. */
  relationships(logicalName: string, options?: CallOptions): Promise<RelationshipDefinition[]>
  /**
   * A table's alternate keys (the `Keys` of its `EntityMetadata`), e.g. to check before an upsert by key that the
   * key exists and its index is `Active`.
   * @throws {DataverseError} `NOT_FOUND` when the org has no such table.
   */
  keys(logicalName: string, options?: CallOptions): Promise<KeyDefinition[]>
  /**
   * The org's metadata version stamp (`ServerVersionStamp` of `RetrieveMetadataChanges`, "Cache schema data"):
   * asked again when the last check is older than `definitions.revalidateAfterMs`. A new stamp empties the cache.
   */
  version(options?: CallOptions): Promise<string>
  /** Forget every cached definition and the stamp: the next read asks the server. */
  clear(): void
}
