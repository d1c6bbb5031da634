import { createHash } from 'node:crypto'
import { entityDefinitions } from './definitions-entities.ts'
import {
  contextSelect,
  type DefinitionCall,
  NS,
  notFound,
  parseDefinitionKey,
  parseOptions,
  requirePrivilege,
  shape,
  splitTopLevel,
} from './definitions-request.ts'
import {
  attributeMetadata,
  columnOptionSet,
  entityMetadata,
  globalOptionSetMetadata,
  relationships,
} from './definitions-shapes.ts'
import { Fault } from './errors.ts'
import type { OrgModel } from './org-model.ts'
import { parseKeyLiteral, parseSegment } from './paths.ts'
import { type ApiRequest, type ApiResponse, type CallContext, json } from './request.ts'

// The schema definitions read API: "Query table definitions using the Web API", "Retrieve table definitions by
// name or MetadataId", "Query schema definitions" (RetrieveMetadataChanges) on learn.microsoft.com
// (power-apps/developer/data-platform/webapi/query-metadata-web-api, retrieve-metadata-name-metadataid,
// query-schema-definitions, cache-schema-data).

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

/** A definitions root's handler and the read privilege it needs. */
const HANDLERS: Record<string, { privilege: string; handle: (call: DefinitionCall) => ApiResponse }> = {
  EntityDefinitions: { privilege: 'prvReadEntity', handle: entityDefinitions },
  RelationshipDefinitions: { privilege: 'prvReadRelationship', handle: relationshipDefinitions },
  GlobalOptionSetDefinitions: { privilege: 'prvReadOptionSet', handle: globalOptionSetDefinitions },
  RetrieveMetadataChanges: { privilege: 'prvReadEntity', handle: retrieveMetadataChanges },
  [`${NS}.RetrieveMetadataChanges`]: { privilege: 'prvReadEntity', handle: retrieveMetadataChanges },
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
  const first = parseSegment(segments[0] as string)
  const handler = HANDLERS[first.name] as (typeof HANDLERS)[string]
  requirePrivilege(ctx, handler.privilege)
  return handler.handle({ org, ctx, req, segments, root, key: first.key })
}

/** The optional cast segment after a root (`RelationshipDefinitions/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata`). */
function castAfterRoot(
  segments: string[],
  allowed: (segment: string) => boolean,
): { castSegment: string | undefined; castPath: string } {
  const castSegment = segments[1]
  if (castSegment !== undefined && !allowed(castSegment)) throw Fault.segmentNotFound(castSegment)
  if (segments.length > 2) throw Fault.segmentNotFound(segments[2] as string)
  return { castSegment, castPath: castSegment === undefined ? '' : `/${castSegment}` }
}

const RELATIONSHIP_CASTS: Record<string, 'OneToMany' | 'ManyToMany' | undefined> = {
  [`${NS}.OneToManyRelationshipMetadata`]: 'OneToMany',
  [`${NS}.ManyToManyRelationshipMetadata`]: 'ManyToMany',
  [`${NS}.RelationshipMetadataBase`]: undefined,
}

function relationshipDefinitions({ org, req, segments, root, key }: DefinitionCall): ApiResponse {
  const opts = parseOptions(req.url)
  const { castSegment, castPath } = castAfterRoot(segments, (s) => s in RELATIONSHIP_CASTS)
  const kind = castSegment === undefined ? undefined : RELATIONSHIP_CASTS[castSegment]
  let all = relationships(org).filter((r) => kind === undefined || r.kind === kind)
  const base = `${root}/$metadata#RelationshipDefinitions`
  if (key === undefined) {
    return json(200, {
      '@odata.context': `${base}${castPath}${contextSelect(opts)}`,
      value: shape(
        all.map((r) => r.json),
        opts,
        'RelationshipMetadataBase',
      ),
    })
  }
  const k = parseDefinitionKey(key, 'SchemaName')
  all = all.filter((r) => (k.name !== undefined ? r.schemaName === k.name : r.json.MetadataId === k.id))
  const [found] = shape(
    all.map((r) => r.json),
    { ...opts, filter: undefined },
    'RelationshipMetadataBase',
  )
  if (!found) throw notFound('relationship', k.name ?? k.id ?? key)
  return json(200, { '@odata.context': `${base}${castPath}${contextSelect(opts)}/$entity`, ...found })
}

function globalOptionSetDefinitions({ org, req, segments, root, key }: DefinitionCall): ApiResponse {
  const opts = parseOptions(req.url)
  const { castPath } = castAfterRoot(segments, (s) => s === `${NS}.OptionSetMetadata`)
  const base = `${root}/$metadata#GlobalOptionSetDefinitions`
  const all = [...org.optionSets.values()].map((s) => globalOptionSetMetadata(org, s))
  if (key === undefined) {
    return json(200, {
      '@odata.context': `${base}${castPath}${contextSelect(opts)}`,
      value: shape(all, opts, 'OptionSetMetadataBase'),
    })
  }
  const k = parseDefinitionKey(key, 'Name')
  const match = all.filter((s) => (k.name !== undefined ? s.Name === k.name : s.MetadataId === k.id))
  const [found] = shape(match, { ...opts, filter: undefined }, 'OptionSetMetadataBase')
  if (!found) throw notFound('optionset', k.name ?? k.id ?? key)
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
function retrieveMetadataChanges({ org, req, segments, root, key }: DefinitionCall): ApiResponse {
  if (segments.length > 1) throw Fault.segmentNotFound(segments[1] as string)
  const args = key ?? ''
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
