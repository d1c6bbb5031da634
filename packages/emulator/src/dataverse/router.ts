import { bulkMessage, executeBulk } from './bulk.ts'
import { DEFINITION_ROOTS, definitions } from './definitions.ts'
import { Fault } from './errors.ts'
import { create, remove, retrieve, upsert } from './handle-entity.ts'
import { member } from './handle-member.ts'
import { query } from './handle-query.ts'
import type { ColumnDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { parseSegment, splitPath } from './paths.ts'
import { readFilter } from './record-access.ts'
import {
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  json,
  MAX_PAGE,
  parsePrefer,
} from './request.ts'
import { runSearch, searchAction, searchEndpoint } from './search.ts'

const VERSION_RE = /^v9\.[0-2]$/

export function route(org: OrgModel, ctx: CallContext, req: ApiRequest): ApiResponse {
  if (req.url.pathname.startsWith('/api/search/')) return searchEndpoint(org, ctx, req)
  const m = /^\/api\/data\/([^/]+)(?:\/(.*))?$/s.exec(req.url.pathname)
  if (!m) throw Fault.noResource(req.url.href)
  const version = m[1] as string
  if (!VERSION_RE.test(version)) throw Fault.segmentNotFound(version)
  const root = org.serviceRoot(req.url, version)
  const rest = m[2] ?? ''
  const method = req.method.toUpperCase()
  if (rest === '') {
    if (method !== 'GET') throw Fault.noResource(req.url.href)
    return json(200, {
      '@odata.context': `${root}/$metadata`,
      value: [...org.store.tables.values()].map((t) => ({
        name: t.def.entitySetName,
        kind: 'EntitySet',
        url: t.def.entitySetName,
      })),
    })
  }
  const segments = splitPath(rest)
  const first = parseSegment(segments[0] as string)
  if (first.name === '$metadata' && segments.length === 1 && method === 'GET') {
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: org.metadataXml() }
  }
  if ((first.name === 'WhoAmI' || first.name === 'Microsoft.Dynamics.CRM.WhoAmI') && segments.length === 1) {
    if (method !== 'GET' || (first.key !== undefined && first.key.trim() !== ''))
      throw Fault.noResource(req.url.href)
    const users = org.table('systemuser')
    const user = users.get(ctx.userId)
    const bu = user ? user[(users.def.byName.get('businessunitid') as ColumnDef).index] : null
    return json(200, {
      '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: bu,
      UserId: ctx.userId,
      OrganizationId: org.org.id,
    })
  }
  if (
    (first.name === 'RetrieveTotalRecordCount' ||
      first.name === 'Microsoft.Dynamics.CRM.RetrieveTotalRecordCount') &&
    segments.length === 1
  ) {
    if (method !== 'GET') throw Fault.noResource(req.url.href)
    return totalRecordCount(org, ctx, req, first.key ?? '', root)
  }
  if (first.name === 'RetrieveVersion' && segments.length === 1 && method === 'GET') {
    return json(200, {
      '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse`,
      Version: '9.2.0.0',
    })
  }
  const search = segments.length === 1 && method === 'POST' ? searchAction(first.name) : undefined
  if (search) return runSearch(org, ctx, req, search, root)
  if (DEFINITION_ROOTS.has(first.name)) return definitions(org, ctx, req, segments, root)
  const table = org.store.bySet.get(first.name)
  if (!table) throw Fault.segmentNotFound(first.name)
  const prefs = parsePrefer(req.headers)
  if (first.key === undefined) {
    if (segments.length === 1) {
      if (method === 'GET') return query(org, ctx, req, table, root, prefs)
      if (method === 'POST') return create(org, ctx, req, table, root, prefs)
      throw Fault.methodNotAllowed(
        `The HTTP method '${method}' is not allowed on the entity set '${first.name}'.`,
      )
    }
    const bulk = segments.length === 2 ? bulkMessage(segments[1] as string) : undefined
    if (bulk) {
      if (method !== 'POST') throw Fault.noResource(req.url.href)
      return executeBulk(org, ctx, req, table, bulk, root)
    }
    if (segments.length === 2 && bulkMessage(`Microsoft.Dynamics.CRM.${segments[1]}`))
      throw Fault.unqualifiedBound(segments[1] as string)
    if (segments.length === 2 && segments[1] === '$count' && method === 'GET') {
      org.checkPrivilege(ctx, 'Read', table.def)
      const readable = readFilter(org, ctx, table.def)
      let count = table.size
      if (readable) {
        count = 0
        for (const r of table.byId.values()) if (readable(r)) count++
      }
      return {
        status: 200,
        headers: { 'Content-Type': 'text/plain' },
        body: String(Math.min(count, MAX_PAGE)),
      }
    }
    throw Fault.segmentNotFound(segments[1] as string)
  }
  const ref = org.findByKey(table, first.key)
  if (segments.length === 1) {
    if (method === 'GET') return retrieve(org, ctx, req, ref, root, prefs)
    if (method === 'PATCH') return upsert(org, ctx, req, ref, root, prefs)
    if (method === 'DELETE') return remove(org, ctx, req, ref)
    throw Fault.methodNotAllowed(
      `The HTTP method '${method}' is not allowed on a single ${table.def.logicalName}.`,
    )
  }
  return member(org, ctx, req, ref, segments.slice(1), root, prefs)
}

/** `RetrieveTotalRecordCount(EntityNames=["account"])` or `(EntityNames=@p1)?@p1=[...]` (Dataverse docs, "Count rows"). */
function totalRecordCount(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  args: string,
  root: string,
): ApiResponse {
  const m = /^\s*EntityNames\s*=\s*(.+?)\s*$/s.exec(args)
  if (!m)
    throw Fault.syntax(
      'RetrieveTotalRecordCount needs the EntityNames parameter, e.g. (EntityNames=["account"]).',
    )
  let text = m[1] as string
  if (text.startsWith('@')) {
    const alias = req.url.searchParams.get(text)
    if (alias === null) throw Fault.syntax(`The parameter alias '${text}' has no value in the query string.`)
    text = alias
  }
  let names: unknown
  try {
    names = JSON.parse(text.replaceAll("'", '"'))
  } catch {
    throw Fault.syntax('EntityNames must be an array of table logical names, e.g. ["account","contact"].')
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw Fault.syntax('EntityNames must be an array of table logical names, e.g. ["account","contact"].')
  }
  const values = (names as string[]).map((n) => {
    const t = org.store.tables.get(n)
    if (!t) throw Fault.invalidArgument(`The table '${n}' does not exist.`)
    org.checkPrivilege(ctx, 'Read', t.def)
    return t.size
  })
  return json(200, {
    '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse`,
    EntityRecordCountCollection: { Count: names.length, IsReadOnly: false, Keys: names, Values: values },
  })
}
