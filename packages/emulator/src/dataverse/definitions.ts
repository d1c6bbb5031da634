import { createHash } from 'node:crypto'
import {
  attributeKind,
  attributeMetadata,
  castFamily,
  columnOptionSet,
  entityMetadata,
  globalOptionSetMetadata,
  type Json,
  relationships,
} from './definitions-shapes.ts'
import { DataverseFault, Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import { type FilterExpr, type Literal, ODataParseError, parseFilter } from './odata-filter.ts'
import type { OrgModel } from './org-model.ts'
import { parseKeyLiteral, parseSegment } from './paths.ts'
import type { ApiRequest, ApiResponse, CallContext } from './request.ts'
import { json } from './request.ts'
import { GUID_RE } from './values.ts'

// The schema definitions read API: "Query table definitions using the Web API", "Retrieve table definitions by
// name or MetadataId", "Query schema definitions" (RetrieveMetadataChanges) on learn.microsoft.com
// (power-apps/developer/data-platform/webapi/query-metadata-web-api, retrieve-metadata-name-metadataid,
// query-schema-definitions, cache-schema-data).

const NS = 'Microsoft.Dynamics.CRM'

/** The first path segments this module answers. */
export const DEFINITION_ROOTS = new Set([
  'EntityDefinitions',
  'RelationshipDefinitions',
  'GlobalOptionSetDefinitions',
  'RetrieveMetadataChanges',
  `${NS}.RetrieveMetadataChanges`,
])

// Every security role has read access to the definitions by default (Security roles and privileges); the
// emulator's roles hold these privileges from their creation.
export const METADATA_READ_PRIVILEGES = [
  'prvReadEntity',
  'prvReadAttribute',
  'prvReadRelationship',
  'prvReadOptionSet',
]

function requirePrivilege(ctx: CallContext, privilege: string): void {
  if (!ctx.can(privilege)) throw Fault.privilegeDenied(ctx.userId, privilege)
}

function notFound(what: string, key: string): DataverseFault {
  // the 404 Dataverse answers for an unknown table name (ObjectDoesNotExist)
  return new DataverseFault(
    404,
    '0x80040217',
    what === 'entity'
      ? `The entity with a name = '${key}' with namemapping = 'Logical' was not found in the MetadataCache.`
      : `Could not find ${what} with key ${key}.`,
  )
}

/** `LogicalName='x'`, `<guid>` or `MetadataId=<guid>`: the name or id a key names. */
function parseDefinitionKey(key: string, nameProperty: string): { name?: string; id?: string } {
  const m = /^\s*([A-Za-z]+)\s*=\s*(.+)$/s.exec(key)
  const prop = m ? (m[1] as string) : 'MetadataId'
  const value = parseKeyLiteral(m ? (m[2] as string) : key)
  if (prop === 'MetadataId' && typeof value === 'string' && GUID_RE.test(value)) return { id: value }
  if (prop === nameProperty && typeof value === 'string') return { name: value }
  throw Fault.syntax(
    `The key '${key}' is not valid here: use (${nameProperty}='name') or the MetadataId (a GUID).`,
  )
}

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

interface QueryOptions {
  select?: string[] | undefined
  filter?: FilterExpr | undefined
  expand: { name: string; select?: string[] }[]
}

function splitTopLevel(text: string): string[] {
  const out: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(text.slice(start).trim())
  return out.filter((s) => s !== '')
}

function parseOptions(url: URL): QueryOptions {
  const p = url.searchParams
  const out: QueryOptions = { expand: [] }
  const select = p.get('$select')
  if (select !== null) out.select = splitTopLevel(select)
  const filter = p.get('$filter')
  if (filter !== null) {
    // enum literals (`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`) compare as their member name
    const text = filter.replace(/Microsoft\.Dynamics\.CRM\.[A-Za-z]+'([^']*)'/g, "'$1'")
    try {
      out.filter = parseFilter(text)
    } catch (e) {
      if (e instanceof ODataParseError) throw Fault.syntax(`Syntax error in $filter: ${e.message}`)
      throw e
    }
  }
  const expand = p.get('$expand')
  if (expand !== null) {
    for (const item of splitTopLevel(expand)) {
      const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(item)
      if (!m) throw Fault.syntax(`The $expand item '${item}' is not valid.`)
      const nested = /\$select=([^;)]*)/.exec(m[2] ?? '')
      out.expand.push(
        nested
          ? { name: m[1] as string, select: splitTopLevel(nested[1] as string) }
          : { name: m[1] as string },
      )
    }
  }
  if (p.has('$orderby'))
    throw Fault.syntax('The query parameter $orderby is not supported on schema definitions.')
  return out
}

function literalValue(l: Literal): unknown {
  return l.type === 'null' ? null : l.value
}

function evaluate(expr: FilterExpr, item: Json, typeName: string): unknown {
  switch (expr.kind) {
    case 'literal':
      return literalValue(expr.literal)
    case 'property': {
      if (!(expr.name in item)) throw Fault.unknownProperty(expr.name, typeName)
      const v = item[expr.name]
      return v !== null && typeof v === 'object' && 'Value' in v ? (v as { Value: unknown }).Value : v
    }
    case 'compare': {
      const a = evaluate(expr.left, item, typeName)
      const b = evaluate(expr.right, item, typeName)
      const cmp = (x: unknown, y: unknown) =>
        typeof x === 'string' && typeof y === 'string'
          ? x.toLowerCase().localeCompare(y.toLowerCase())
          : Number(x) - Number(y)
      switch (expr.op) {
        case 'eq':
          return typeof a === 'string' && typeof b === 'string'
            ? a.toLowerCase() === b.toLowerCase()
            : a === b
        case 'ne':
          return typeof a === 'string' && typeof b === 'string'
            ? a.toLowerCase() !== b.toLowerCase()
            : a !== b
        case 'gt':
          return cmp(a, b) > 0
        case 'ge':
          return cmp(a, b) >= 0
        case 'lt':
          return cmp(a, b) < 0
        case 'le':
          return cmp(a, b) <= 0
      }
      return false
    }
    case 'and':
      return evaluate(expr.left, item, typeName) === true && evaluate(expr.right, item, typeName) === true
    case 'or':
      return evaluate(expr.left, item, typeName) === true || evaluate(expr.right, item, typeName) === true
    case 'not':
      return evaluate(expr.operand, item, typeName) !== true
    case 'call': {
      const [x, y] = expr.args.map((a) => String(evaluate(a, item, typeName) ?? '').toLowerCase()) as [
        string,
        string,
      ]
      return expr.fn === 'contains'
        ? x.includes(y)
        : expr.fn === 'startswith'
          ? x.startsWith(y)
          : x.endsWith(y)
    }
    case 'in': {
      const v = evaluate(expr.property, item, typeName)
      return expr.values.some((l) => literalValue(l) === v)
    }
  }
}

/** Apply $filter and $select; `keep` lists the properties every item keeps (its type and id). */
function shape(items: Json[], opts: QueryOptions, typeName: string, keep = ['MetadataId']): Json[] {
  const filter = opts.filter
  const kept = filter ? items.filter((i) => evaluate(filter, i, typeName) === true) : items
  const select = opts.select
  if (!select) return kept
  const known = new Set(items.flatMap((i) => Object.keys(i)))
  for (const s of select) if (items.length > 0 && !known.has(s)) throw Fault.unknownProperty(s, typeName)
  return kept.map((i) =>
    Object.fromEntries(
      Object.entries(i).filter(([k]) => k === '@odata.type' || keep.includes(k) || select.includes(k)),
    ),
  )
}

const contextSelect = (opts: QueryOptions) => (opts.select ? `(${opts.select.join(',')})` : '')

function entityWithExpands(org: OrgModel, ctx: CallContext, def: TableDef, opts: QueryOptions): Json {
  const out = entityMetadata(org, def)
  for (const e of opts.expand) {
    const sub: QueryOptions = e.select ? { select: e.select, expand: [] } : { expand: [] }
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

function entityDefinitions(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  segments: string[],
  root: string,
): ApiResponse {
  requirePrivilege(ctx, 'prvReadEntity')
  const first = parseSegment(segments[0] as string)
  const opts = parseOptions(req.url)
  const base = `${root}/$metadata#EntityDefinitions`
  if (first.key === undefined) {
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
  const def = findTable(org, first.key)
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

const RELATIONSHIP_CASTS: Record<string, 'OneToMany' | 'ManyToMany' | undefined> = {
  [`${NS}.OneToManyRelationshipMetadata`]: 'OneToMany',
  [`${NS}.ManyToManyRelationshipMetadata`]: 'ManyToMany',
  [`${NS}.RelationshipMetadataBase`]: undefined,
}

function relationshipDefinitions(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  segments: string[],
  root: string,
): ApiResponse {
  requirePrivilege(ctx, 'prvReadRelationship')
  const first = parseSegment(segments[0] as string)
  const opts = parseOptions(req.url)
  const castSegment = segments[1]
  if (castSegment !== undefined && !(castSegment in RELATIONSHIP_CASTS))
    throw Fault.segmentNotFound(castSegment)
  if (segments.length > 2) throw Fault.segmentNotFound(segments[2] as string)
  const kind = castSegment === undefined ? undefined : RELATIONSHIP_CASTS[castSegment]
  const castPath = castSegment === undefined ? '' : `/${castSegment}`
  let all = relationships(org).filter((r) => kind === undefined || r.kind === kind)
  const base = `${root}/$metadata#RelationshipDefinitions`
  if (first.key === undefined) {
    return json(200, {
      '@odata.context': `${base}${castPath}${contextSelect(opts)}`,
      value: shape(
        all.map((r) => r.json),
        opts,
        'RelationshipMetadataBase',
      ),
    })
  }
  const k = parseDefinitionKey(first.key, 'SchemaName')
  all = all.filter((r) => (k.name !== undefined ? r.schemaName === k.name : r.json.MetadataId === k.id))
  const [found] = shape(
    all.map((r) => r.json),
    { ...opts, filter: undefined },
    'RelationshipMetadataBase',
  )
  if (!found) throw notFound('relationship', k.name ?? k.id ?? first.key)
  return json(200, { '@odata.context': `${base}${castPath}${contextSelect(opts)}/$entity`, ...found })
}

function globalOptionSetDefinitions(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  segments: string[],
  root: string,
): ApiResponse {
  requirePrivilege(ctx, 'prvReadOptionSet')
  const first = parseSegment(segments[0] as string)
  const opts = parseOptions(req.url)
  const castSegment = segments[1]
  if (castSegment !== undefined && castSegment !== `${NS}.OptionSetMetadata`)
    throw Fault.segmentNotFound(castSegment)
  if (segments.length > 2) throw Fault.segmentNotFound(segments[2] as string)
  const castPath = castSegment === undefined ? '' : `/${castSegment}`
  const base = `${root}/$metadata#GlobalOptionSetDefinitions`
  const all = [...org.optionSets.values()].map((s) => globalOptionSetMetadata(org, s))
  if (first.key === undefined) {
    return json(200, {
      '@odata.context': `${base}${castPath}${contextSelect(opts)}`,
      value: shape(all, opts, 'OptionSetMetadataBase'),
    })
  }
  const k = parseDefinitionKey(first.key, 'Name')
  const match = all.filter((s) => (k.name !== undefined ? s.Name === k.name : s.MetadataId === k.id))
  const [found] = shape(match, { ...opts, filter: undefined }, 'OptionSetMetadataBase')
  if (!found) throw notFound('optionset', k.name ?? k.id ?? first.key)
  return json(200, { '@odata.context': `${base}${castPath}${contextSelect(opts)}/$entity`, ...found })
}

/**
 * The org's metadata version stamp (RetrieveMetadataChanges' `ServerVersionStamp`): a digest of every definition,
 * so it changes exactly when a table, column, choice or relationship does.
 */
export function metadataVersionStamp(org: OrgModel): string {
  const h = createHash('sha256')
  for (const def of org.defs.values()) {
    h.update(JSON.stringify(entityMetadata(org, def)))
    for (const c of def.columns)
      h.update(JSON.stringify([attributeMetadata(org, def, c), columnOptionSet(org, def, c)]))
  }
  for (const s of org.optionSets.values()) h.update(JSON.stringify(globalOptionSetMetadata(org, s)))
  for (const r of relationships(org)) h.update(JSON.stringify(r.json))
  return `${Number.parseInt(h.digest('hex').slice(0, 12), 16)}!${org.org.id}`
}

/** `RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)`: the tables changed since a stamp, and the new stamp. */
function retrieveMetadataChanges(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  segments: string[],
  root: string,
): ApiResponse {
  requirePrivilege(ctx, 'prvReadEntity')
  if (segments.length > 1) throw Fault.segmentNotFound(segments[1] as string)
  const args = parseSegment(segments[0] as string).key ?? ''
  let client: string | undefined
  for (const part of splitTopLevel(args)) {
    const m = /^(\w+)\s*=\s*(.+)$/s.exec(part)
    if (!m) throw Fault.syntax(`The parameter '${part}' of RetrieveMetadataChanges is not valid.`)
    let value = (m[2] as string).trim()
    if (value.startsWith('@')) value = req.url.searchParams.get(value) ?? ''
    if (m[1] === 'ClientVersionStamp') client = String(parseKeyLiteral(value))
  }
  const stamp = metadataVersionStamp(org)
  const changed = client === stamp ? [] : [...org.defs.values()].map((d) => entityMetadata(org, d))
  return json(200, {
    '@odata.context': `${root}/$metadata#${NS}.RetrieveMetadataChangesResponse`,
    EntityMetadata: changed,
    ServerVersionStamp: stamp,
    DeletedMetadata: { Count: 0, IsReadOnly: false, Keys: [], Values: [] },
  })
}

/** Answer a request whose first segment is in {@link DEFINITION_ROOTS} (GET only: the definitions are read-only here). */
export function definitions(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  segments: string[],
  root: string,
): ApiResponse {
  if (req.method.toUpperCase() !== 'GET')
    throw Fault.methodNotAllowed(
      `The HTTP method '${req.method.toUpperCase()}' is not supported on schema definitions by the emulator; only reads are.`,
    )
  const name = parseSegment(segments[0] as string).name
  if (name === 'EntityDefinitions') return entityDefinitions(org, ctx, req, segments, root)
  if (name === 'RelationshipDefinitions') return relationshipDefinitions(org, ctx, req, segments, root)
  if (name === 'GlobalOptionSetDefinitions') return globalOptionSetDefinitions(org, ctx, req, segments, root)
  return retrieveMetadataChanges(org, ctx, req, segments, root)
}
