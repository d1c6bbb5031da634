import type {
  ChoiceDefinition,
  ChoiceKind,
  ChoiceOption,
  ColumnDefinition,
  DataverseDefinitions,
  KeyDefinition,
  KeyIndexStatus,
  RelationshipDefinition,
  TableDefinition,
} from './definitions-types.ts'
import { DataverseError, isDataverseError } from './errors.ts'
import { formatLiteral } from './filter.ts'
import { common, parseJson, type Scope } from './internal/core.ts'
import { checkName } from './internal/paths.ts'
import type { CallOptions, DefinitionsCacheOptions } from './types.ts'

// Requests as documented on Microsoft Learn (Power Apps > Dataverse > Web API): "Query table definitions using the
// Web API" (EntityDefinitions, $select/$filter, Attributes with a typed cast and $expand=OptionSet,GlobalOptionSet),
// "Retrieve table definitions by name or MetadataId" (EntityDefinitions(LogicalName='account')), "Query
// relationship definitions" and "Cache schema data" (RetrieveMetadataChanges' ServerVersionStamp).

type Json = Record<string, unknown>
const NS = 'Microsoft.Dynamics.CRM'

const TABLE_SELECT = [
  'MetadataId',
  'LogicalName',
  'SchemaName',
  'EntitySetName',
  'DisplayName',
  'DisplayCollectionName',
  'PrimaryIdAttribute',
  'PrimaryNameAttribute',
  'ObjectTypeCode',
  'IsCustomEntity',
]

/** Choice casts, by the `AttributeTypeName` value of the columns they hold. */
const CHOICE_CASTS: Record<string, { cast: string; kind: ChoiceKind }> = {
  PicklistType: { cast: 'PicklistAttributeMetadata', kind: 'Picklist' },
  MultiSelectPicklistType: { cast: 'MultiSelectPicklistAttributeMetadata', kind: 'MultiSelectPicklist' },
  StateType: { cast: 'StateAttributeMetadata', kind: 'State' },
  StatusType: { cast: 'StatusAttributeMetadata', kind: 'Status' },
  BooleanType: { cast: 'BooleanAttributeMetadata', kind: 'Boolean' },
}

/** A `Label`: the caller's label and every localized one. */
function labelOf(value: unknown): { label: string; labels: Record<number, string> } {
  const l = (value ?? {}) as { UserLocalizedLabel?: { Label?: string } | null; LocalizedLabels?: unknown }
  const labels: Record<number, string> = {}
  for (const x of Array.isArray(l.LocalizedLabels) ? (l.LocalizedLabels as Json[]) : []) {
    if (typeof x.LanguageCode === 'number' && typeof x.Label === 'string') labels[x.LanguageCode] = x.Label
  }
  return { label: l.UserLocalizedLabel?.Label ?? Object.values(labels)[0] ?? '', labels }
}

function toTable(j: Json): TableDefinition {
  return {
    metadataId: j.MetadataId as string,
    logicalName: j.LogicalName as string,
    schemaName: j.SchemaName as string,
    entitySetName: j.EntitySetName as string,
    displayName: labelOf(j.DisplayName).label,
    displayCollectionName: labelOf(j.DisplayCollectionName).label,
    primaryIdAttribute: j.PrimaryIdAttribute as string,
    primaryNameAttribute: (j.PrimaryNameAttribute as string | null | undefined) ?? null,
    objectTypeCode: j.ObjectTypeCode as number,
    isCustom: j.IsCustomEntity === true,
  }
}

function toOption(j: Json): ChoiceOption {
  const { label, labels } = labelOf(j.Label)
  const out: ChoiceOption = { value: j.Value as number, label, labels }
  if (typeof j.State === 'number') out.state = j.State
  if (typeof j.DefaultStatus === 'number') out.defaultStatus = j.DefaultStatus
  if (typeof j.Color === 'string' && j.Color !== '') out.color = j.Color
  return out
}

function toChoice(set: Json, kind: ChoiceKind): ChoiceDefinition {
  const options =
    kind === 'Boolean'
      ? [set.FalseOption, set.TrueOption].filter((o): o is Json => !!o).map(toOption)
      : ((set.Options as Json[] | undefined) ?? []).map(toOption)
  return { name: set.Name as string, kind, global: set.IsGlobal === true, options }
}

function toColumn(j: Json): ColumnDefinition {
  const out: ColumnDefinition = {
    metadataId: j.MetadataId as string,
    logicalName: j.LogicalName as string,
    schemaName: j.SchemaName as string,
    displayName: labelOf(j.DisplayName).label,
    type: j.AttributeType as string,
    typeName: ((j.AttributeTypeName as { Value?: string } | null)?.Value ??
      `${j.AttributeType}Type`) as string,
    requiredLevel: ((j.RequiredLevel as { Value?: string } | null)?.Value ?? 'None') as string,
    isPrimaryId: j.IsPrimaryId === true,
    isPrimaryName: j.IsPrimaryName === true,
    isValidForCreate: j.IsValidForCreate === true,
    isValidForUpdate: j.IsValidForUpdate === true,
  }
  if (typeof j.MaxLength === 'number') out.maxLength = j.MaxLength
  if (Array.isArray(j.Targets)) out.targets = j.Targets as string[]
  return out
}

function toKey(j: Json): KeyDefinition {
  return {
    metadataId: j.MetadataId as string,
    logicalName: j.LogicalName as string,
    schemaName: j.SchemaName as string,
    columns: Array.isArray(j.KeyAttributes) ? (j.KeyAttributes as string[]) : [],
    status: (j.EntityKeyIndexStatus as KeyIndexStatus | undefined) ?? 'Active',
  }
}

function toRelationship(j: Json): RelationshipDefinition {
  if (j.RelationshipType === 'ManyToManyRelationship') {
    return {
      kind: 'ManyToMany',
      metadataId: j.MetadataId as string,
      schemaName: j.SchemaName as string,
      entity1: j.Entity1LogicalName as string,
      entity2: j.Entity2LogicalName as string,
      intersectEntity: j.IntersectEntityName as string,
      entity1Navigation: j.Entity1NavigationPropertyName as string,
      entity2Navigation: j.Entity2NavigationPropertyName as string,
    }
  }
  return {
    kind: 'OneToMany',
    metadataId: j.MetadataId as string,
    schemaName: j.SchemaName as string,
    referencedEntity: j.ReferencedEntity as string,
    referencedAttribute: j.ReferencedAttribute as string,
    referencingEntity: j.ReferencingEntity as string,
    referencingAttribute: j.ReferencingAttribute as string,
    referencedNavigation: j.ReferencedEntityNavigationPropertyName as string,
    referencingNavigation: j.ReferencingEntityNavigationPropertyName as string,
  }
}

/** A query that matches no table: RetrieveMetadataChanges then answers only the org's version stamp. */
const STAMP_QUERY = JSON.stringify({
  Criteria: {
    FilterOperator: 'And',
    Conditions: [
      {
        PropertyName: 'LogicalName',
        ConditionOperator: 'Equals',
        Value: { Value: '-', Type: 'System.String' },
      },
    ],
  },
  Properties: { AllProperties: false, PropertyNames: ['LogicalName'] },
})

/** The cache one client (and its `as()` variants) shares: entries under the version stamp they were read at. */
export interface DefinitionsCache {
  stamp: string | undefined
  checkedAt: number
  checking: Promise<string> | undefined
  entries: Map<string, Promise<unknown>>
  revalidateAfterMs: number
}

export function createDefinitionsCache(options: DefinitionsCacheOptions | undefined): DefinitionsCache {
  const revalidateAfterMs = options?.revalidateAfterMs ?? 300_000
  if (!Number.isFinite(revalidateAfterMs) || revalidateAfterMs < 0) {
    throw new DataverseError('INVALID_ARGUMENT', 'definitions.revalidateAfterMs must be a number ≥ 0.')
  }
  return { stamp: undefined, checkedAt: 0, checking: undefined, entries: new Map(), revalidateAfterMs }
}

/** `client.definitions`: the typed, cached schema reads. */
export function definitionsOf(scope: Scope, cache: DefinitionsCache): DataverseDefinitions {
  const { core, headersFor } = scope
  const now = () => core.config.clock.now()

  async function get<T = Json>(path: string, query: string, options: CallOptions | undefined): Promise<T> {
    const result = await core.send({
      method: 'GET',
      path,
      query,
      headers: headersFor(options),
      idempotent: true,
      ...common(options),
    })
    return parseJson<T>(result, 'GET', path)
  }

  async function version(options?: CallOptions): Promise<string> {
    const fresh = cache.stamp !== undefined && now() - cache.checkedAt < cache.revalidateAfterMs
    if (fresh) return cache.stamp as string
    cache.checking ??= (async () => {
      try {
        const body = await get<{ ServerVersionStamp?: unknown }>(
          'RetrieveMetadataChanges(Query=@p1)',
          `?@p1=${encodeURIComponent(STAMP_QUERY)}`,
          options,
        )
        if (typeof body.ServerVersionStamp !== 'string') {
          throw new DataverseError(
            'INVALID_RESPONSE',
            'RetrieveMetadataChanges answered without a ServerVersionStamp; the definitions cannot be cached.',
          )
        }
        // a new stamp means the schema changed: what was read under the old one may be stale
        if (body.ServerVersionStamp !== cache.stamp) cache.entries.clear()
        cache.stamp = body.ServerVersionStamp
        cache.checkedAt = now()
        return cache.stamp
      } finally {
        cache.checking = undefined
      }
    })()
    return cache.checking
  }

  async function cached<T>(
    key: string,
    options: CallOptions | undefined,
    load: () => Promise<T>,
  ): Promise<T> {
    const stamp = await version(options)
    const k = `${stamp}\n${key}`
    let entry = cache.entries.get(k) as Promise<T> | undefined
    if (!entry) {
      entry = load()
      cache.entries.set(k, entry)
      entry.catch(() => cache.entries.delete(k))
    }
    return entry
  }

  const tablePath = (logicalName: string) =>
    `EntityDefinitions(LogicalName=${formatLiteral(checkName(logicalName, 'Table logical name'))})`

  /** A 404 names what was missing and how to find the right name. */
  async function naming<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (e) {
      if (isDataverseError(e) && e.code === 'NOT_FOUND') {
        throw new DataverseError(
          'NOT_FOUND',
          `${what} does not exist in this org (Dataverse: ${e.message}). Logical names are lowercase, e.g. 'account'; list them with client.definitions.tables().`,
          {
            status: e.status,
            serviceCode: e.serviceCode,
            requestId: e.requestId,
            method: e.method,
            path: e.path,
            cause: e,
          },
        )
      }
      throw e
    }
  }

  async function columns(logicalName: string, options?: CallOptions): Promise<ColumnDefinition[]> {
    const path = tablePath(logicalName)
    return cached(`columns:${logicalName}`, options, () =>
      naming(`The table '${logicalName}'`, async () => {
        const list = (await get<{ value: Json[] }>(`${path}/Attributes`, '', options)).value.map(toColumn)
        const kinds = [...new Set(list.map((c) => c.typeName))].filter((t) => t in CHOICE_CASTS)
        const sets = await Promise.all(
          kinds.map(async (typeName) => {
            const { cast, kind } = CHOICE_CASTS[typeName] as { cast: string; kind: ChoiceKind }
            const body = await get<{ value: Json[] }>(
              `${path}/Attributes/${NS}.${cast}`,
              '?$select=LogicalName&$expand=OptionSet,GlobalOptionSet',
              options,
            )
            return body.value.map((a) => ({
              column: a.LogicalName as string,
              set: (a.OptionSet ?? a.GlobalOptionSet) as Json | null,
              kind,
            }))
          }),
        )
        for (const { column, set, kind } of sets.flat()) {
          const c = list.find((x) => x.logicalName === column)
          if (c && set) c.choice = toChoice(set, kind)
        }
        return list
      }),
    )
  }

  return {
    table: (logicalName, options) =>
      cached(`table:${logicalName}`, options, () =>
        naming(`The table '${logicalName}'`, async () =>
          toTable(await get(tablePath(logicalName), `?$select=${TABLE_SELECT.join(',')}`, options)),
        ),
      ),
    tables: async (options) => {
      const all = await cached('tables', options, async () =>
        (
          await get<{ value: Json[] }>('EntityDefinitions', `?$select=${TABLE_SELECT.join(',')}`, options)
        ).value.map(toTable),
      )
      return options?.custom === undefined ? all : all.filter((t) => t.isCustom === options.custom)
    },
    columns,
    choice: async (logicalName, column, options) => {
      const c = (await columns(logicalName, options)).find((x) => x.logicalName === column)
      if (!c) {
        throw new DataverseError(
          'NOT_FOUND',
          `The table '${logicalName}' has no column '${column}'; column names are logical names (lowercase).`,
        )
      }
      if (!c.choice) {
        throw new DataverseError(
          'INVALID_ARGUMENT',
          `The column '${logicalName}.${column}' is a ${c.type} column, not a choice: it has no options.`,
        )
      }
      return c.choice
    },
    globalChoice: (name, options) =>
      cached(`global:${name}`, options, () =>
        naming(`The global choice '${name}'`, async () => {
          const set = await get(
            `GlobalOptionSetDefinitions(Name=${formatLiteral(checkName(name, 'Global choice name'))})`,
            '',
            options,
          )
          return toChoice(set, (set.OptionSetType as ChoiceKind | undefined) ?? 'Picklist')
        }),
      ),
    relationships: (logicalName, options) =>
      cached(`relationships:${logicalName}`, options, () =>
        naming(`The table '${logicalName}'`, async () => {
          const body = await get(
            tablePath(logicalName),
            '?$select=LogicalName&$expand=OneToManyRelationships,ManyToOneRelationships,ManyToManyRelationships',
            options,
          )
          const all = [
            ...((body.OneToManyRelationships as Json[] | undefined) ?? []),
            ...((body.ManyToOneRelationships as Json[] | undefined) ?? []),
            ...((body.ManyToManyRelationships as Json[] | undefined) ?? []),
          ]
          const seen = new Set<string>()
          return all
            .filter((r) => !seen.has(r.SchemaName as string) && seen.add(r.SchemaName as string))
            .map(toRelationship)
        }),
      ),
    keys: (logicalName, options) =>
      cached(`keys:${logicalName}`, options, () =>
        naming(`The table '${logicalName}'`, async () =>
          (
            await get<{ value: Json[] }>(
              `${tablePath(logicalName)}/Keys`,
              '?$select=LogicalName,SchemaName,KeyAttributes,EntityKeyIndexStatus',
              options,
            )
          ).value.map(toKey),
        ),
      ),
    version: (options) => version(options),
    clear: () => {
      cache.entries.clear()
      cache.stamp = undefined
      cache.checkedAt = 0
    },
  }
}
