import { createHash } from 'node:crypto'
import type { OptionSeed, OptionSetSeed } from '../world/dataverse-seed.ts'
import { navigationTo } from './lookups.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'

// The metadata entity shapes of "Query table definitions using the Web API" and the Web API metadata reference
// (EntityMetadata, AttributeMetadata and its derived types, OptionSetMetadata, RelationshipMetadataBase):
// learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api
// learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/entitymetadata

export type Json = Record<string, unknown>

const NS = 'Microsoft.Dynamics.CRM'

/** A MetadataId: stable for the same org and item across restarts (Dataverse's never change either). */
export function metadataId(org: OrgModel, ...parts: string[]): string {
  const h = createHash('sha1')
    .update(`${org.org.id}:${parts.join(':')}`)
    .digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** A `Label`: the localized labels (English only, LCID 1033) and the caller's label. */
export function label(org: OrgModel, text: string, ...idParts: string[]): Json {
  if (text === '') return { LocalizedLabels: [], UserLocalizedLabel: null }
  const localized = {
    Label: text,
    LanguageCode: 1033,
    IsManaged: true,
    MetadataId: metadataId(org, 'label', ...idParts),
    HasChanged: null,
  }
  return { LocalizedLabels: [localized], UserLocalizedLabel: localized }
}

const managed = (value: boolean, name: string) => ({
  Value: value,
  CanBeChanged: false,
  ManagedPropertyLogicalName: name,
})

/** Standard tables' object type codes; custom tables get 10000 and up, in declaration order. */
const TYPE_CODES: Record<string, number> = {
  account: 1,
  contact: 2,
  systemuser: 8,
  businessunit: 10,
  role: 1036,
  usersettings: 150,
}
const STANDARD = new Set(Object.keys(TYPE_CODES))

/** EntityMetadata.ObjectTypeCode: Dataverse's codes for the standard tables, 10,000 and up for the others. */
export function objectTypeCode(org: OrgModel, def: TableDef): number {
  const index = [...org.defs.keys()].filter((n) => !STANDARD.has(n)).indexOf(def.logicalName)
  return TYPE_CODES[def.logicalName] ?? 10_000 + index
}

export function entityMetadata(org: OrgModel, def: TableDef): Json {
  const custom = !STANDARD.has(def.logicalName)
  return {
    MetadataId: metadataId(org, 'entity', def.logicalName),
    LogicalName: def.logicalName,
    SchemaName: def.schemaName,
    EntitySetName: def.entitySetName,
    LogicalCollectionName: def.entitySetName,
    CollectionSchemaName: `${def.schemaName}s`,
    ObjectTypeCode: objectTypeCode(org, def),
    PrimaryIdAttribute: def.primaryId,
    PrimaryNameAttribute: def.primaryName,
    DisplayName: label(org, def.displayName, def.logicalName, 'DisplayName'),
    DisplayCollectionName: label(org, def.displayCollectionName, def.logicalName, 'DisplayCollectionName'),
    Description: label(org, '', def.logicalName, 'Description'),
    OwnershipType: def.sys.ownerid >= 0 ? 'UserOwned' : 'BusinessOwned',
    TableType: def.elastic ? 'Elastic' : 'Standard',
    IsCustomEntity: custom,
    ChangeTrackingEnabled: def.changeTracking,
    IsManaged: !custom,
    IsActivity: false,
    IsIntersect: false,
    IsValidForAdvancedFind: true,
    IsCustomizable: managed(true, 'iscustomizable'),
    IntroducedVersion: '1.0',
    HasChanged: null,
  }
}

/**
 * An alternate key as `EntityKeyMetadata` (Web API reference: EntityKeyMetadata EntityType, the `Keys` navigation
 * of EntityMetadata). The emulator's keys carry no names of their own: the name is the table and its columns
 * (`account_accountnumber`), and every key's index is built (`EntityKeyIndexStatus: Active`).
 */
export function entityKeyMetadata(org: OrgModel, def: TableDef, columns: readonly string[]): Json {
  const name = `${def.logicalName}_${columns.join('_')}`
  const custom = !STANDARD.has(def.logicalName)
  return {
    MetadataId: metadataId(org, 'key', def.logicalName, ...columns),
    LogicalName: name,
    SchemaName: name,
    EntityLogicalName: def.logicalName,
    KeyAttributes: [...columns],
    DisplayName: label(org, columns.join(', '), def.logicalName, 'key', ...columns),
    EntityKeyIndexStatus: 'Active',
    AsyncJob: null,
    IsCustomizable: managed(true, 'iscustomizable'),
    IsManaged: !custom,
    IsExportKey: false,
    IsSecondaryKey: false,
    IsSynchronous: false,
    IntroducedVersion: '1.0',
    HasChanged: null,
  }
}

interface AttributeKind {
  type: string
  metadataType: string
}

/** AttributeType, AttributeTypeName and the derived metadata type of a column. */
export function attributeKind(def: TableDef, c: ColumnDef): AttributeKind {
  const k = (type: string, metadataType: string) => ({ type, metadataType })
  switch (c.type) {
    case 'uniqueidentifier':
      return k('Uniqueidentifier', 'UniqueIdentifierAttributeMetadata')
    case 'string':
      return k('String', 'StringAttributeMetadata')
    case 'memo':
      return k('Memo', 'MemoAttributeMetadata')
    case 'integer':
      return k('Integer', 'IntegerAttributeMetadata')
    case 'bigint':
      return k('BigInt', 'BigIntAttributeMetadata')
    case 'decimal':
      return k('Decimal', 'DecimalAttributeMetadata')
    case 'money':
      return k('Money', 'MoneyAttributeMetadata')
    case 'double':
      return k('Double', 'DoubleAttributeMetadata')
    case 'boolean':
      return k('Boolean', 'BooleanAttributeMetadata')
    case 'datetime':
      return k('DateTime', 'DateTimeAttributeMetadata')
    case 'lookup':
      return c.name === 'ownerid' && def.sys.ownerid >= 0
        ? k('Owner', 'LookupAttributeMetadata')
        : c.customer
          ? k('Customer', 'LookupAttributeMetadata')
          : k('Lookup', 'LookupAttributeMetadata')
    case 'picklist':
      if (c.name === 'statecode') return k('State', 'StateAttributeMetadata')
      if (c.name === 'statuscode') return k('Status', 'StatusAttributeMetadata')
      return k('Picklist', 'PicklistAttributeMetadata')
    case 'multiselectpicklist':
      return k('Virtual', 'MultiSelectPicklistAttributeMetadata')
    // Learn, FileAttributeMetadata EntityType: AttributeType Virtual, AttributeTypeName FileType
    case 'file':
      return k('Virtual', 'FileAttributeMetadata')
  }
}

/** The derived types a cast segment selects (`EnumAttributeMetadata` covers every choice kind). */
const CAST_FAMILIES: Record<string, string[]> = {
  AttributeMetadata: [],
  EnumAttributeMetadata: [
    'PicklistAttributeMetadata',
    'StateAttributeMetadata',
    'StatusAttributeMetadata',
    'BooleanAttributeMetadata',
    'MultiSelectPicklistAttributeMetadata',
    'EntityNameAttributeMetadata',
  ],
  PicklistAttributeMetadata: ['PicklistAttributeMetadata'],
  MultiSelectPicklistAttributeMetadata: ['MultiSelectPicklistAttributeMetadata'],
  StateAttributeMetadata: ['StateAttributeMetadata'],
  StatusAttributeMetadata: ['StatusAttributeMetadata'],
  BooleanAttributeMetadata: ['BooleanAttributeMetadata'],
  LookupAttributeMetadata: ['LookupAttributeMetadata'],
  StringAttributeMetadata: ['StringAttributeMetadata'],
  MemoAttributeMetadata: ['MemoAttributeMetadata'],
  MoneyAttributeMetadata: ['MoneyAttributeMetadata'],
  IntegerAttributeMetadata: ['IntegerAttributeMetadata'],
  BigIntAttributeMetadata: ['BigIntAttributeMetadata'],
  DecimalAttributeMetadata: ['DecimalAttributeMetadata'],
  DoubleAttributeMetadata: ['DoubleAttributeMetadata'],
  DateTimeAttributeMetadata: ['DateTimeAttributeMetadata'],
  UniqueIdentifierAttributeMetadata: ['UniqueIdentifierAttributeMetadata'],
  ImageAttributeMetadata: ['ImageAttributeMetadata'],
  FileAttributeMetadata: ['FileAttributeMetadata'],
}

/** The metadata types a cast segment (`Microsoft.Dynamics.CRM.X`) admits, or undefined when X is not an attribute type. */
export function castFamily(segment: string): { name: string; types: string[] | undefined } | undefined {
  if (!segment.startsWith(`${NS}.`)) return undefined
  const name = segment.slice(NS.length + 1)
  if (!(name in CAST_FAMILIES)) return undefined
  const types = CAST_FAMILIES[name] as string[]
  return { name, types: types.length ? types : undefined }
}

export function attributeMetadata(org: OrgModel, def: TableDef, c: ColumnDef): Json {
  const kind = attributeKind(def, c)
  const id = (...p: string[]) => metadataId(org, 'attribute', def.logicalName, c.name, ...p)
  // the built-in tables' columns are all standard (a seed cannot add columns to them)
  const custom = !STANDARD.has(def.logicalName)
  const system = def.systemColumns.has(c.name)
  const out: Json = {
    '@odata.type': `#${NS}.${kind.metadataType}`,
    MetadataId: id(),
    LogicalName: c.name,
    SchemaName: c.name.charAt(0).toUpperCase() + c.name.slice(1),
    EntityLogicalName: def.logicalName,
    AttributeType: kind.type,
    AttributeTypeName: {
      Value:
        c.type === 'multiselectpicklist'
          ? 'MultiSelectPicklistType'
          : c.type === 'file'
            ? 'FileType'
            : `${kind.type}Type`,
    },
    ColumnNumber: c.index,
    DisplayName: label(org, c.displayName, def.logicalName, c.name, 'DisplayName'),
    Description: label(org, '', def.logicalName, c.name, 'Description'),
    RequiredLevel: {
      Value: c.requiredLevel,
      CanBeChanged: c.requiredLevel !== 'SystemRequired',
      ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
    },
    IsPrimaryId: c.name === def.primaryId,
    IsPrimaryName: c.name === def.primaryName,
    IsCustomAttribute: custom && !system,
    IsManaged: !custom || system,
    IsLogical: false,
    IsValidForCreate: !c.readOnly,
    IsValidForUpdate: !c.readOnly && c.name !== def.primaryId,
    IsValidForRead: true,
    IsValidForAdvancedFind: managed(true, 'canmodifysearchsettings'),
    AttributeOf: null,
    IntroducedVersion: '1.0',
    HasChanged: null,
  }
  switch (c.type) {
    case 'string':
      Object.assign(out, {
        MaxLength: c.maxLength,
        DatabaseLength: c.maxLength * 2,
        Format: 'Text',
        FormatName: { Value: 'Text' },
      })
      break
    case 'memo':
      Object.assign(out, { MaxLength: c.maxLength, Format: 'TextArea' })
      break
    case 'integer':
      Object.assign(out, { Format: 'None', MinValue: -2_147_483_648, MaxValue: 2_147_483_647 })
      break
    case 'bigint':
      Object.assign(out, { MinValue: Number.MIN_SAFE_INTEGER, MaxValue: Number.MAX_SAFE_INTEGER })
      break
    case 'money':
      Object.assign(out, {
        Precision: 2,
        PrecisionSource: 2,
        MinValue: -922_337_203_685_477,
        MaxValue: 922_337_203_685_477,
      })
      break
    case 'decimal':
    case 'double':
      Object.assign(out, { Precision: 2, MinValue: -100_000_000_000, MaxValue: 100_000_000_000 })
      break
    case 'datetime':
      Object.assign(out, {
        Format: c.name === 'birthdate' ? 'DateOnly' : 'DateAndTime',
        DateTimeBehavior: { Value: c.name === 'birthdate' ? 'DateOnly' : 'UserLocal' },
      })
      break
    case 'lookup':
      // LookupAttributeMetadata.Targets: every table the column can point at (Customer: account, contact)
      Object.assign(out, { Targets: (c.targets ?? []).map((t) => t.table) })
      break
    case 'boolean':
      Object.assign(out, { DefaultValue: false })
      break
    case 'file':
      Object.assign(out, { MaxSizeInKB: c.maxSizeInKB ?? null })
      break
    case 'picklist':
    case 'multiselectpicklist':
      Object.assign(
        out,
        kind.type === 'Picklist' || kind.type === 'Virtual'
          ? { DefaultFormValue: -1 }
          : { DefaultFormValue: null },
      )
      break
    default:
      break
  }
  return out
}

function optionMetadata(org: OrgModel, o: OptionSeed, idParts: string[], optionType?: string): Json {
  const base: Json = {
    Value: o.value,
    Color: o.color ?? null,
    IsManaged: true,
    ExternalValue: null,
    ParentValues: [],
    Tag: null,
    IsHidden: false,
    MetadataId: null,
    HasChanged: null,
    Label: label(org, o.label, ...idParts, String(o.value)),
    Description: label(org, '', ...idParts, String(o.value), 'Description'),
  }
  if (optionType === 'State') {
    return {
      '@odata.type': `#${NS}.StateOptionMetadata`,
      ...base,
      InvariantName: o.label,
      DefaultStatus: o.value + 1,
    }
  }
  if (optionType === 'Status') {
    return {
      '@odata.type': `#${NS}.StatusOptionMetadata`,
      ...base,
      State: o.state ?? 0,
      TransitionData: null,
    }
  }
  return base
}

/** A global choice as `GlobalOptionSetDefinitions` serves it. */
export function globalOptionSetMetadata(org: OrgModel, set: OptionSetSeed): Json {
  const parts = ['optionset', set.name]
  return {
    '@odata.type': `#${NS}.OptionSetMetadata`,
    MetadataId: metadataId(org, ...parts),
    Name: set.name,
    DisplayName: label(org, set.displayName ?? set.name, ...parts, 'DisplayName'),
    Description: label(org, '', ...parts, 'Description'),
    IsGlobal: true,
    IsCustomOptionSet: true,
    IsManaged: false,
    OptionSetType: 'Picklist',
    ExternalTypeName: null,
    ParentOptionSetName: null,
    IntroducedVersion: '1.0.0.0',
    HasChanged: null,
    Options: set.options.map((o) => optionMetadata(org, o, parts)),
  }
}

/** The `OptionSet` navigation of a choice column (the global set's when the column uses one). */
export function columnOptionSet(org: OrgModel, def: TableDef, c: ColumnDef): Json | null {
  if (!c.choice) return null
  if (c.choice.global !== undefined) {
    const set = org.optionSets.get(c.choice.global)
    return set ? globalOptionSetMetadata(org, set) : null
  }
  const kind = attributeKind(def, c).type
  const name = `${def.logicalName}_${c.name}`
  const parts = ['optionset', name]
  const common = {
    MetadataId: metadataId(org, ...parts),
    Name: kind === 'Boolean' ? `${def.logicalName}_${c.name}` : name,
    DisplayName: label(org, c.displayName, ...parts, 'DisplayName'),
    Description: label(org, '', ...parts, 'Description'),
    IsGlobal: false,
    IsCustomOptionSet: !STANDARD.has(def.logicalName),
    IsManaged: STANDARD.has(def.logicalName),
    ExternalTypeName: null,
    ParentOptionSetName: null,
    IntroducedVersion: '1.0.0.0',
    HasChanged: null,
  }
  if (kind === 'Boolean') {
    const option = (v: number) => {
      const o = c.choice?.options.find((x) => x.value === v) ?? { value: v, label: v ? 'Yes' : 'No' }
      return optionMetadata(org, o, parts)
    }
    return {
      '@odata.type': `#${NS}.BooleanOptionSetMetadata`,
      ...common,
      OptionSetType: 'Boolean',
      TrueOption: option(1),
      FalseOption: option(0),
    }
  }
  return {
    '@odata.type': `#${NS}.OptionSetMetadata`,
    ...common,
    OptionSetType: kind === 'Virtual' ? 'Picklist' : kind,
    Options: c.choice.options.map((o) => optionMetadata(org, o, parts, kind)),
  }
}

export interface RelationshipDef {
  schemaName: string
  kind: 'OneToMany' | 'ManyToMany'
  json: Json
}

/** Every relationship of the org: one per lookup with its collection navigation, and the N:N ones. */
export function relationships(org: OrgModel): RelationshipDef[] {
  const out: RelationshipDef[] = []
  const seen = new Set<string>()
  for (const def of org.defs.values()) {
    for (const nav of def.navigations.values()) {
      if (nav.kind !== 'collection' || seen.has(nav.name)) continue
      seen.add(nav.name)
      const other = org.defs.get(nav.target)
      if (!other) continue
      const common = {
        MetadataId: metadataId(org, 'relationship', nav.name),
        SchemaName: nav.name,
        IsCustomRelationship: !STANDARD.has(def.logicalName) || !STANDARD.has(other.logicalName),
        IsManaged: STANDARD.has(def.logicalName) && STANDARD.has(other.logicalName),
        IsValidForAdvancedFind: true,
        SecurityTypes: 'None',
        IntroducedVersion: '1.0',
        HasChanged: null,
      }
      if (nav.manyToMany) {
        const [a, b] = [def, other].sort((x, y) => x.logicalName.localeCompare(y.logicalName)) as [
          TableDef,
          TableDef,
        ]
        out.push({
          schemaName: nav.name,
          kind: 'ManyToMany',
          json: {
            '@odata.type': `#${NS}.ManyToManyRelationshipMetadata`,
            ...common,
            RelationshipType: 'ManyToManyRelationship',
            Entity1LogicalName: a.logicalName,
            Entity2LogicalName: b.logicalName,
            IntersectEntityName: nav.name.replace(/_association$/, ''),
            Entity1IntersectAttribute: a.primaryId,
            Entity2IntersectAttribute: b.primaryId,
            Entity1NavigationPropertyName: nav.name,
            Entity2NavigationPropertyName: nav.name,
          },
        })
        continue
      }
      const column = nav.column ? other.byName.get(nav.column) : undefined
      out.push({
        schemaName: nav.name,
        kind: 'OneToMany',
        json: {
          '@odata.type': `#${NS}.OneToManyRelationshipMetadata`,
          ...common,
          RelationshipType: 'OneToManyRelationship',
          ReferencedEntity: def.logicalName,
          ReferencedAttribute: def.primaryId,
          ReferencingEntity: other.logicalName,
          ReferencingAttribute: nav.column ?? null,
          ReferencedEntityNavigationPropertyName: nav.name,
          // a multi-table lookup has one relationship per target, each with its own navigation property
          ReferencingEntityNavigationPropertyName:
            (column && navigationTo(column, def.logicalName)) ?? nav.column ?? null,
          IsHierarchical: def.logicalName === other.logicalName,
          CascadeConfiguration: {
            Assign: 'NoCascade',
            Delete: 'RemoveLink',
            Merge: 'NoCascade',
            Reparent: 'NoCascade',
            Share: 'NoCascade',
            Unshare: 'NoCascade',
            RollupView: 'NoCascade',
          },
        },
      })
    }
  }
  return out
}
