import {
  contextSelect,
  type DefinitionCall,
  NS,
  notFound,
  parseDefinitionKey,
  parseOptions,
  type QueryOptions,
  requirePrivilege,
  shape,
} from './definitions-request.ts'
import {
  attributeKind,
  attributeMetadata,
  castFamily,
  columnOptionSet,
  entityKeyMetadata,
  entityMetadata,
  type Json,
  relationships,
} from './definitions-shapes.ts'
import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { parseSegment } from './paths.ts'
import { type ApiResponse, type CallContext, json } from './request.ts'

function findTable(org: OrgModel, key: string): TableDef {
  const k = parseDefinitionKey(key, 'LogicalName')
  for (const def of org.defs.values()) {
    if (k.name !== undefined ? def.logicalName === k.name : entityMetadata(org, def).MetadataId === k.id)
      return def
  }
  throw notFound('entity', k.name ?? k.id ?? key)
}

function findColumn(org: OrgModel, def: TableDef, key: string): ColumnDef {
  const k = parseDefinitionKey(key, 'LogicalName')
  for (const c of def.columns) {
    if (k.name !== undefined ? c.name === k.name : attributeMetadata(org, def, c).MetadataId === k.id)
      return c
  }
  throw notFound('attribute', k.name ?? k.id ?? key)
}

function entityWithExpands(org: OrgModel, ctx: CallContext, def: TableDef, opts: QueryOptions): Json {
  const out = entityMetadata(org, def)
  for (const e of opts.expand) {
    const sub: QueryOptions = { select: e.select, filter: e.filter, expand: [] }
    if (e.name === 'Attributes') {
      requirePrivilege(ctx, 'prvReadAttribute')
      out.Attributes = shape(
        def.columns.map((c) => attributeMetadata(org, def, c)),
        sub,
        'AttributeMetadata',
      )
    } else if (
      e.name === 'OneToManyRelationships' ||
      e.name === 'ManyToOneRelationships' ||
      e.name === 'ManyToManyRelationships'
    ) {
      requirePrivilege(ctx, 'prvReadRelationship')
      const all = relationships(org).map((r) => r.json)
      const mine = all.filter((r) =>
        e.name === 'OneToManyRelationships'
          ? r.ReferencedEntity === def.logicalName
          : e.name === 'ManyToOneRelationships'
            ? r.ReferencingEntity === def.logicalName
            : r.Entity1LogicalName === def.logicalName || r.Entity2LogicalName === def.logicalName,
      )
      out[e.name] = shape(mine, sub, 'RelationshipMetadataBase')
    } else if (e.name === 'Keys') {
      out.Keys = shape(keysOf(org, def), sub, 'EntityKeyMetadata')
    } else throw Fault.unknownProperty(e.name, 'EntityMetadata')
  }
  const select = opts.select
  if (!select) return out
  const known = new Set(Object.keys(out))
  for (const s of select) if (!known.has(s)) throw Fault.unknownProperty(s, 'EntityMetadata')
  const expanded = new Set(opts.expand.map((e) => e.name))
  return Object.fromEntries(
    Object.entries(out).filter(([k]) => k === 'MetadataId' || select.includes(k) || expanded.has(k)),
  )
}

/** The table's alternate keys as `EntityKeyMetadata` (reading them needs only the table's read privilege). */
function keysOf(org: OrgModel, def: TableDef): Json[] {
  return def.alternateKeys.map((columns) => entityKeyMetadata(org, def, columns))
}

/** Attribute items, with the `OptionSet` / `GlobalOptionSet` navigations expanded when asked (typed casts only). */
function attributeItems(
  org: OrgModel,
  def: TableDef,
  columns: ColumnDef[],
  cast: { name: string; types: string[] | undefined } | undefined,
  opts: QueryOptions,
): Json[] {
  const enumCast = cast?.types?.every((t) =>
    [
      'PicklistAttributeMetadata',
      'StateAttributeMetadata',
      'StatusAttributeMetadata',
      'BooleanAttributeMetadata',
      'MultiSelectPicklistAttributeMetadata',
      'EntityNameAttributeMetadata',
    ].includes(t),
  )
  const typeName = cast?.name ?? 'AttributeMetadata'
  for (const e of opts.expand) {
    if ((e.name !== 'OptionSet' && e.name !== 'GlobalOptionSet') || !enumCast)
      throw Fault.unknownProperty(e.name, `${NS}.${typeName}`.replace(`${NS}.`, ''))
    if (e.filter)
      throw Fault.syntax(`$filter does not apply to the single-valued navigation property ${e.name}.`)
  }
  const items = columns
    .filter((c) => !cast?.types || cast.types.includes(attributeKind(def, c).metadataType))
    .map((c) => {
      const item = attributeMetadata(org, def, c)
      for (const e of opts.expand) {
        const set = columnOptionSet(org, def, c)
        const value = e.name === 'GlobalOptionSet' && c.choice?.global === undefined ? null : set
        item[e.name] =
          value && e.select
            ? Object.fromEntries(
                Object.entries(value).filter(
                  ([k]) => k === '@odata.type' || k === 'MetadataId' || e.select?.includes(k),
                ),
              )
            : value
      }
      return item
    })
  const expanded = opts.expand.map((e) => e.name)
  return shape(items, opts, typeName, ['MetadataId', ...expanded])
}

/** `EntityDefinitions`, one table by key, and its `Attributes` (typed casts too) and relationships. */
export function entityDefinitions({ org, ctx, req, segments, root, key }: DefinitionCall): ApiResponse {
  const opts = parseOptions(req.url)
  const base = `${root}/$metadata#EntityDefinitions`
  if (key === undefined) {
    if (segments.length > 1) throw Fault.segmentNotFound(segments[1] as string)
    const all = [...org.defs.values()].map((d) =>
      entityWithExpands(org, ctx, d, { ...opts, select: undefined }),
    )
    return json(200, {
      '@odata.context': `${base}${contextSelect(opts)}`,
      value: shape(all, { ...opts, expand: [] }, 'EntityMetadata', [
        'MetadataId',
        ...opts.expand.map((e) => e.name),
      ]),
    })
  }
  const def = findTable(org, key)
  const entityId = entityMetadata(org, def).MetadataId as string
  if (segments.length === 1) {
    return json(200, {
      '@odata.context': `${base}${contextSelect(opts)}/$entity`,
      ...entityWithExpands(org, ctx, def, opts),
    })
  }
  const nav = parseSegment(segments[1] as string)
  const navBase = `${base}(${entityId})/${nav.name}`
  if (nav.name === 'Attributes') {
    requirePrivilege(ctx, 'prvReadAttribute')
    const castSegment = segments[2]
    const cast = castSegment === undefined ? undefined : castFamily(castSegment)
    if (castSegment !== undefined && !cast) throw Fault.segmentNotFound(castSegment)
    if (segments.length > 3) throw Fault.segmentNotFound(segments[3] as string)
    const castPath = cast ? `/${NS}.${cast.name}` : ''
    if (nav.key === undefined) {
      return json(200, {
        '@odata.context': `${navBase}${castPath}${contextSelect(opts)}`,
        value: attributeItems(org, def, def.columns, cast, opts),
      })
    }
    const column = findColumn(org, def, nav.key)
    const [item] = attributeItems(org, def, [column], cast, opts)
    if (!item) throw Fault.segmentNotFound(castSegment ?? nav.name) // the column is not of the cast's type
    return json(200, { '@odata.context': `${navBase}${castPath}${contextSelect(opts)}/$entity`, ...item })
  }
  if (nav.name === 'Keys' && segments.length === 2) {
    const keys = keysOf(org, def)
    if (nav.key === undefined)
      return json(200, {
        '@odata.context': `${navBase}${contextSelect(opts)}`,
        value: shape(keys, opts, 'EntityKeyMetadata'),
      })
    const k = parseDefinitionKey(nav.key, 'LogicalName')
    const key = keys.find((x) => (k.name !== undefined ? x.LogicalName === k.name : x.MetadataId === k.id))
    if (!key) throw notFound('entity key', k.name ?? k.id ?? nav.key)
    const [item] = shape([key], opts, 'EntityKeyMetadata')
    return json(200, { '@odata.context': `${navBase}${contextSelect(opts)}/$entity`, ...item })
  }
  if (
    nav.key === undefined &&
    segments.length === 2 &&
    ['OneToManyRelationships', 'ManyToOneRelationships', 'ManyToManyRelationships'].includes(nav.name)
  ) {
    const expanded = entityWithExpands(org, ctx, def, { expand: [{ name: nav.name }] })
    return json(200, {
      '@odata.context': `${navBase}${contextSelect(opts)}`,
      value: shape(expanded[nav.name] as Json[], opts, 'RelationshipMetadataBase'),
    })
  }
  throw Fault.segmentNotFound(nav.name)
}
