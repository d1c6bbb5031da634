import { parseApply, runApply } from './apply.ts'
import { trackChanges } from './changes.ts'
import { DataverseFault, Fault } from './errors.ts'
import { runFetchXml } from './fetchxml.ts'
import { filterEnv } from './filter-env.ts'
import type { OrgModel } from './org-model.ts'
import { cursorFits, decodeSkipToken, encodeSkipToken, indexedCandidates, selectPage } from './paging.ts'
import {
  filterFor,
  type OrderBy,
  type Predicate,
  parseExpand,
  parseOrderBy,
  parseSelect,
  parseTop,
} from './query.ts'
import { readFilter } from './record-access.ts'
import {
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  json,
  MAX_PAGE,
  type Preferences,
  wantsAnnotation,
} from './request.ts'
import type { Table } from './store.ts'
import { GUID_RE } from './values.ts'

export function query(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  root: string,
  prefs: Preferences,
): ApiResponse {
  org.checkPrivilege(ctx, 'Read', table.def)
  const params = req.url.searchParams
  // Predefined queries (Dataverse docs, "Retrieve and execute predefined queries": `?savedQuery=<savedqueryid>`,
  // `?userQuery=<userqueryid>`). The emulator holds no system or personal views, so a GUID names a view that does
  // not exist (404, as Dataverse answers for a missing record); anything else is not a GUID (400).
  for (const [name, logicalName] of [
    ['savedQuery', 'savedquery'],
    ['userQuery', 'userquery'],
  ] as const) {
    const id = params.get(name)
    if (id === null) continue
    if (!GUID_RE.test(id)) throw Fault.syntax(`The value '${id.slice(0, 60)}' of ${name} is not a GUID.`)
    throw Fault.notFound(logicalName, id.toLowerCase())
  }
  if (prefs.trackChanges || params.has('$deltatoken')) return trackChanges(org, ctx, req, table, root, prefs)
  const fetchXml = params.get('fetchXml')
  if (fetchXml !== null)
    return runFetchXml(org, ctx, table, fetchXml, root, prefs, params.get('$count') === 'true')
  for (const key of params.keys()) {
    if (key === '$skip') throw new DataverseFault(400, '0x0', 'The query parameter $skip is not supported')
    if (
      key.startsWith('$') &&
      !['$select', '$filter', '$orderby', '$top', '$count', '$expand', '$skiptoken', '$apply'].includes(key)
    ) {
      throw Fault.syntax(`The query parameter ${key} is not supported`)
    }
  }
  const def = table.def
  // Parameter aliases (`@p1=…`) stand for values in $filter, as Learn's query function examples pass them.
  const aliases = (name: string) => params.get(name) ?? undefined
  const env = filterEnv(org, ctx)
  const readable = readFilter(org, ctx, def)
  const applyText = params.get('$apply')
  if (applyText !== null) {
    if (params.has('$orderby'))
      throw Fault.syntax('The query node SingleValueOpenPropertyAccess is not supported.')
    const plan = parseApply(def, applyText, aliases, env)
    const extra = params.get('$filter')
    if (extra !== null) plan.filters.unshift(filterFor(def, extra, aliases, env))
    if (readable) plan.filters.unshift(readable)
    return json(200, {
      '@odata.context': `${root}/$metadata#${def.entitySetName}`,
      value: runApply(table.byId.values(), plan),
    })
  }
  const selectText = params.get('$select')
  const select = selectText === null ? undefined : parseSelect(def, selectText)
  const filterText = params.get('$filter')
  const filtered = filterText === null ? undefined : filterFor(def, filterText, aliases, env)
  const predicate: Predicate | undefined =
    readable && filtered ? (r) => readable(r) && filtered(r) : (readable ?? filtered)
  const indexed = filterText === null ? undefined : indexedCandidates(table, filterText, aliases)
  const orderText = params.get('$orderby')
  const order: OrderBy[] = orderText === null ? [] : parseOrderBy(def, orderText)
  const expandText = params.get('$expand')
  const expand = expandText === null ? [] : parseExpand(def, expandText)
  for (const e of expand) org.checkPrivilege(ctx, 'Read', org.table(e.nav.target).def)
  const topText = params.get('$top')
  const top = topText === null ? undefined : parseTop(topText)
  const countText = params.get('$count')
  if (countText !== null && countText !== 'true' && countText !== 'false') {
    throw Fault.syntax(`Invalid value '${countText}' for $count query option found.`)
  }
  const pageSize =
    prefs.maxPageSize !== undefined ? Math.max(1, Math.min(prefs.maxPageSize, MAX_PAGE)) : undefined
  // $top and odata.maxpagesize together: $top is ignored (Dataverse docs, "Page results").
  const limit = pageSize ?? (top !== undefined ? Math.min(top, MAX_PAGE) : MAX_PAGE)
  const cursor = decodeSkipToken(params.get('$skiptoken'))
  if (cursor && !cursorFits(cursor, order)) {
    throw Fault.syntax(
      'The $skiptoken does not belong to this query. Follow @odata.nextLink exactly as returned.',
    )
  }
  const { rows, more, total } = selectPage(
    table,
    predicate,
    order,
    limit,
    cursor,
    countText === 'true',
    indexed,
  )
  const body: Record<string, unknown> = {
    '@odata.context': `${root}/$metadata#${def.entitySetName}${selectText ? `(${selectText})` : ''}`,
  }
  if (total !== undefined) body['@odata.count'] = Math.min(total, MAX_PAGE)
  if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcount')) {
    body['@Microsoft.Dynamics.CRM.totalrecordcount'] = total === undefined ? -1 : Math.min(total, MAX_PAGE)
    body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = (total ?? 0) > MAX_PAGE
  }
  body.value = rows.map((r) => org.serialize(table, r, select, prefs, ctx, expand, root))
  const last = rows[rows.length - 1]
  if (more && last && (pageSize !== undefined || top === undefined)) {
    const kept = req.url.search
      .slice(1)
      .split('&')
      .filter((p) => p !== '' && !/^(\$|%24)skiptoken=/i.test(p))
    const token = encodeSkipToken(last, order, (cursor?.page ?? 1) + 1)
    kept.push(`$skiptoken=${encodeURIComponent(token)}`)
    body['@odata.nextLink'] = `${root}/${def.entitySetName}?${kept.join('&')}`
  }
  const applied: string[] = []
  if (pageSize !== undefined) applied.push(`odata.maxpagesize=${pageSize}`)
  if (prefs.annotations) applied.push(`odata.include-annotations="${prefs.annotations.join(',')}"`)
  return json(200, body, applied.length ? { 'Preference-Applied': applied.join(',') } : {})
}
