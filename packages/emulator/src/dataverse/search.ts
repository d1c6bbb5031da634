import { objectTypeCode } from './definitions-shapes.ts'
import { DataverseFault, Fault } from './errors.ts'
import { filterEnv } from './filter-env.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { filterFor, type Predicate } from './query.ts'
import { readFilter } from './record-access.ts'
import { type ApiRequest, type ApiResponse, type CallContext, json, parseBody } from './request.ts'
import { compare, facets } from './search-facets.ts'
import { legacyFilters } from './search-legacy.ts'
import { type FieldText, highlight, matchFields, parseSearch, wordsOf } from './search-match.ts'
import type { Row, Table } from './store.ts'

// Learn, "Search for Dataverse records", "Dataverse Search query", "Dataverse Search suggest", "Dataverse Search
// autocomplete": POST /api/search/v2.0/{query,suggest,autocomplete} (and the Web API actions searchquery,
// searchsuggest, searchautocomplete, which take the same parameters and answer the same body). The answer is
// `{ "@odata.context", "response": "<JSON text>" }`. What the emulator matches is described in search-match.ts.

export type SearchOperation = 'query' | 'suggest' | 'autocomplete'

const OPERATIONS: Record<string, SearchOperation> = {
  query: 'query',
  suggest: 'suggest',
  autocomplete: 'autocomplete',
  searchquery: 'query',
  searchsuggest: 'suggest',
  searchautocomplete: 'autocomplete',
}

/** The operation a Web API action name (`searchquery`, `Microsoft.Dynamics.CRM.searchquery`) stands for. */
export function searchAction(name: string): SearchOperation | undefined {
  const bare = name.startsWith('Microsoft.Dynamics.CRM.') ? name.slice(23) : name
  return bare.startsWith('search') ? OPERATIONS[bare] : undefined
}

/** `/api/search/v2.0/<operation>`. */
export function searchEndpoint(org: OrgModel, ctx: CallContext, req: ApiRequest): ApiResponse {
  const m = /^\/api\/search\/([^/]+)\/([^/]+)$/.exec(req.url.pathname)
  // v1.0 is the legacy endpoint (search-legacy.ts), still supported per Learn
  const op = m && (m[1] === 'v2.0' || m[1] === 'v1.0') ? OPERATIONS[m[2] as string] : undefined
  if (!m || !op || (m[2] as string).startsWith('search')) {
    throw Fault.noResource(req.url.href)
  }
  if (req.method.toUpperCase() !== 'POST') {
    throw Fault.methodNotAllowed(`Dataverse search ${op} takes POST, not ${req.method.toUpperCase()}.`)
  }
  return runSearch(org, ctx, req, op, org.serviceRoot(req.url, 'v9.2'), m[1] === 'v1.0')
}

/** Not searched: the emulator's system tables (Dataverse search indexes the tables an admin enables). */
const NOT_INDEXED = new Set(['businessunit', 'role', 'systemuser', 'usersettings'])

interface Scope {
  table: Table
  search: ColumnDef[]
  select: ColumnDef[]
  /** The rows the caller may read that pass the filters. */
  visible: Predicate
}

interface Hit {
  scope: Scope
  row: Row
  score: number
  highlights: Record<string, string[]>
}

export function runSearch(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  op: SearchOperation,
  root: string,
  legacy = false,
): ApiResponse {
  const body = parseBody(req.body, `search${op}`)
  const p = params(body)
  const text = p.get('search')
  const min = op === 'suggest' ? 3 : 1
  if (typeof text !== 'string' || text.length < min || text.length > 100) {
    throw Fault.invalidArgument(
      `The search parameter must be a string of ${min} to 100 characters (Learn: Dataverse Search ${op}).`,
    )
  }
  const options = jsonText(p.get('options'), 'options')
  const opts = new Map<string, unknown>()
  if (options && typeof options === 'object' && !Array.isArray(options)) {
    for (const [k, v] of Object.entries(options)) opts.set(k.toLowerCase(), v)
  }
  const mode = String(opts.get('searchmode') ?? p.get('searchmode') ?? 'any').toLowerCase()
  if (mode !== 'any' && mode !== 'all') {
    throw Fault.invalidArgument(`searchmode must be 'any' or 'all', got '${mode}'.`)
  }
  const filter = stringParam(p.get('filter'), 'filter')
  const perTable = legacy ? legacyFilters(filter) : undefined
  const scopes = scopesOf(org, ctx, p.get('entities'), perTable ? undefined : filter, perTable, legacy)
  const context = `${root}/$metadata#Microsoft.Dynamics.CRM.search${op}Response`
  if (op === 'autocomplete') {
    if (legacy) return json(200, { value: autocomplete(scopes, text) })
    return answer(context, { Error: null, Value: autocomplete(scopes, text), QueryContext: null })
  }
  const clauses = op === 'query' ? parseSearch(text) : []
  const hits: Hit[] = []
  for (const scope of scopes) {
    for (const row of scope.table.byId.values()) {
      if (!scope.visible(row)) continue
      const fields = fieldsOf(scope, row)
      if (op === 'suggest') {
        const s = suggestion(fields, text)
        if (s) hits.push({ scope, row, score: s.score, highlights: { [s.column]: [s.text] } })
        continue
      }
      const match =
        clauses.length === 0 ? { score: 1, highlights: {} } : matchFields(clauses, fields, mode === 'all')
      if (match) hits.push({ scope, row, ...match })
    }
  }
  sortHits(hits, orderOf(p.get('orderby')))
  const top = intParam(p.get('top'), 'top', op === 'suggest' ? 5 : 50)
  if (op === 'suggest') {
    const value = hits.slice(0, top).map((h) => ({
      text: Object.values(h.highlights)[0]?.[0] ?? '',
      document: {
        '@search.objectid': h.scope.table.id(h.row),
        '@search.entityname': h.scope.table.def.logicalName,
        '@search.objecttypecode': objectTypeCode(org, h.scope.table.def),
        ...attributes(org, ctx, h.scope, h.row, root),
      },
    }))
    if (legacy) return json(200, { value })
    return answer(context, {
      Error: null,
      Value: value.map((v) => ({ Text: v.text, Document: v.document })),
      QueryContext: null,
    })
  }
  const skip = intParam(p.get('skip'), 'skip', 0, Number.MAX_SAFE_INTEGER)
  const wanted = p.get(legacy ? 'returntotalrecordcount' : 'count')
  const count = wanted === true || wanted === 'true'
  const page = hits.slice(skip, skip + top)
  if (legacy) {
    return json(200, {
      value: page.map((h) => ({
        '@search.score': h.score,
        '@search.highlights': h.highlights,
        '@search.entityname': h.scope.table.def.logicalName,
        '@search.objectid': h.scope.table.id(h.row),
        '@search.objecttypecode': objectTypeCode(org, h.scope.table.def),
        ...attributes(org, ctx, h.scope, h.row, root),
      })),
      facets: facets(jsonText(p.get('facets'), 'facets'), hits, true),
      totalrecordcount: count ? hits.length : -1,
    })
  }
  return answer(context, {
    Error: null,
    Value: page.map((h) => ({
      Id: h.scope.table.id(h.row),
      EntityName: h.scope.table.def.logicalName,
      // Learn's example answers ObjectTypeCode 0 beside the table's code in Attributes['@search.objecttypecode']
      ObjectTypeCode: 0,
      Attributes: {
        '@search.objecttypecode': objectTypeCode(org, h.scope.table.def),
        ...attributes(org, ctx, h.scope, h.row, root),
      },
      Highlights: h.highlights,
      Score: h.score,
    })),
    Facets: facets(jsonText(p.get('facets'), 'facets'), hits),
    QueryContext: null,
    Count: count ? hits.length : -1,
  })
}

function answer(context: string, response: Record<string, unknown>): ApiResponse {
  return json(200, { '@odata.context': context, response: JSON.stringify(response) })
}

function params(body: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const [k, v] of Object.entries(body)) out.set(k.toLowerCase(), v)
  return out
}

/** A parameter that is JSON in a string (`entities`, `options`, `orderby`, `facets`); `"null"` is absent. */
function jsonText(value: unknown, name: string): unknown {
  if (value === undefined || value === null || value === 'null' || value === '') return undefined
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    // Learn writes options with single quotes: "{'querytype': 'lucene', 'searchmode': 'all'}"
    try {
      return JSON.parse(value.replaceAll("'", '"'))
    } catch {
      throw Fault.invalidArgument(`The ${name} parameter is not valid JSON text.`)
    }
  }
}

function stringParam(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '' || value === 'null') return undefined
  if (typeof value !== 'string') throw Fault.invalidArgument(`The ${name} parameter must be a string.`)
  return value
}

function intParam(value: unknown, name: string, fallback: number, max = 100): number {
  if (value === undefined || value === null) return fallback
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw Fault.invalidArgument(`The ${name} parameter must be a whole number from 0 to ${max}.`)
  }
  return n
}

function scopesOf(
  org: OrgModel,
  ctx: CallContext,
  entities: unknown,
  filter: string | undefined,
  perTable: Map<string, string> | undefined,
  legacy: boolean,
): Scope[] {
  const parsed = jsonText(entities, 'entities')
  const specs: Record<string, unknown>[] =
    parsed === undefined
      ? [...org.store.tables.values()]
          .filter((t) => !NOT_INDEXED.has(t.def.logicalName))
          .map((t) => ({ name: t.def.logicalName }))
      : Array.isArray(parsed)
        ? parsed.map((e) => (typeof e === 'string' ? { name: e } : lower(e ?? {})))
        : []
  if (parsed !== undefined && (!Array.isArray(parsed) || parsed.length === 0)) {
    throw Fault.invalidArgument(
      'The entities parameter must be a JSON array of SearchEntity objects ({ "name": "account", ... }).',
    )
  }
  const env = filterEnv(org, ctx)
  const scopes: Scope[] = []
  for (const spec of specs) {
    const name = spec.name
    const table = typeof name === 'string' ? org.store.tables.get(name) : undefined
    if (!table || NOT_INDEXED.has(table.def.logicalName)) {
      throw Fault.invalidArgument(
        `The table '${String(name)}' is not enabled for Dataverse search in this org. Name a searchable table by its logical name.`,
      )
    }
    // Search is security-trimmed: a table the caller may not read is left out, like the rows it may not read.
    try {
      org.checkPrivilege(ctx, 'Read', table.def)
    } catch (e) {
      if (e instanceof DataverseFault && e.status === 403) continue
      throw e
    }
    const def = table.def
    const own = stringParam(spec.filter, 'entities[].filter') ?? perTable?.get(def.logicalName)
    const filters = [own && filterFor(def, own, undefined, env), filter && globalFilter(def, filter, env)]
    const readable = readFilter(org, ctx, def)
    const active = [readable, ...filters].filter((f): f is Predicate => typeof f === 'function')
    scopes.push({
      table,
      search: columnsOf(def, spec.searchcolumns, defaultSearchColumns(def)),
      // the legacy endpoint has no selectColumns: it returns the searched columns
      select: legacy
        ? defaultSearchColumns(def)
        : columnsOf(def, spec.selectcolumns, [def.byName.get(def.primaryName) as ColumnDef]),
      visible: (r) => active.every((f) => f(r)),
    })
  }
  return scopes
}

function lower(e: unknown): Record<string, unknown> {
  return Object.fromEntries(params(e as Record<string, unknown>))
}

function globalFilter(def: TableDef, text: string, env: ReturnType<typeof filterEnv>): Predicate {
  try {
    return filterFor(def, text, undefined, env)
  } catch (e) {
    if (e instanceof DataverseFault && e.code === '0x0') {
      throw Fault.invalidArgument(
        `The filter '${text}' names a column the table '${def.logicalName}' does not have: ${e.message} Put table-specific conditions in entities[].filter, or name the tables with entities.`,
      )
    }
    throw e
  }
}

/** The primary name, then the table's other single-line text columns (the emulator has no Quick Find views). */
function defaultSearchColumns(def: TableDef): ColumnDef[] {
  const primary = def.byName.get(def.primaryName) as ColumnDef
  return [
    primary,
    ...def.columns.filter((c) => c !== primary && c.type === 'string' && !def.systemColumns.has(c.name)),
  ]
}

function columnsOf(def: TableDef, names: unknown, fallback: ColumnDef[]): ColumnDef[] {
  if (names === undefined || names === null || (Array.isArray(names) && names.length === 0)) return fallback
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw Fault.invalidArgument('selectColumns and searchColumns must be arrays of column logical names.')
  }
  return names.map((n) => {
    const col = def.byName.get(n.toLowerCase())
    if (!col) {
      throw Fault.invalidArgument(`The table '${def.logicalName}' has no column '${n}'.`)
    }
    return col
  })
}

function fieldsOf(scope: Scope, row: Row): FieldText[] {
  const out: FieldText[] = []
  const primary = scope.table.def.primaryName
  for (const c of scope.search) {
    const v = row[c.index]
    if (v === null || v === undefined || typeof v === 'object') continue
    out.push({ column: c.name, text: String(v), weight: c.name === primary ? 2 : 1 })
  }
  return out
}

/** Suggest: a field with a word run that starts with the search text, the matched start marked. */
function suggestion(
  fields: FieldText[],
  text: string,
): { column: string; text: string; score: number } | undefined {
  const wanted = wordsOf(text).map((w) => w.text)
  if (wanted.length === 0) return undefined
  for (const f of fields) {
    const words = wordsOf(f.text)
    for (let i = 0; i + wanted.length <= words.length; i++) {
      const ok = wanted.every((t, j) => {
        const w = (words[i + j] as { text: string }).text
        return j === wanted.length - 1 ? w.startsWith(t) : w === t
      })
      if (!ok) continue
      const first = words[i] as { start: number }
      const last = words[i + wanted.length - 1] as { start: number; text: string }
      const end = last.start + (wanted[wanted.length - 1] as string).length
      const marked = highlight(f.text, [{ text: '', start: first.start, end }])
      return { column: f.column, text: marked, score: f.weight * (i === 0 ? 2 : 1) }
    }
  }
  return undefined
}

/**
 * Autocomplete: the most frequent word that completes the last word typed, in the rows that hold the words typed
 * before it; marked, after those words.
 */
function autocomplete(scopes: Scope[], text: string): string | null {
  const typed = wordsOf(text)
  const last = typed[typed.length - 1]
  if (!last) return null
  const before = typed.slice(0, -1).map((w) => w.text)
  const counts = new Map<string, number>()
  for (const scope of scopes) {
    for (const row of scope.table.byId.values()) {
      if (!scope.visible(row)) continue
      const words = fieldsOf(scope, row).flatMap((f) => wordsOf(f.text).map((w) => w.text))
      // the words typed before the last one narrow the rows completed from
      if (!before.every((b) => words.includes(b))) continue
      for (const w of words) if (w.startsWith(last.text)) counts.set(w, (counts.get(w) ?? 0) + 1)
    }
  }
  let best: [string, number] | undefined
  for (const e of counts) {
    if (!best || e[1] > best[1] || (e[1] === best[1] && e[0] < best[0])) best = e
  }
  if (!best) return null
  return `${text.slice(0, last.start).toLowerCase()}{crmhit}${best[0]}{/crmhit}`
}

interface Order {
  column: string
  desc: boolean
}

function orderOf(value: unknown): Order[] {
  const parsed =
    typeof value === 'string' && value.trim().startsWith('[') ? jsonText(value, 'orderby') : value
  if (parsed === undefined || parsed === null || parsed === 'null' || parsed === '') return []
  const clauses = Array.isArray(parsed) ? parsed : String(parsed).split(',')
  return clauses.map((c) => {
    const m = /^\s*(@search\.score|[A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/i.exec(String(c))
    if (!m) throw Fault.invalidArgument(`The orderby clause '${String(c)}' is not '<column> [asc|desc]'.`)
    return { column: (m[1] as string).toLowerCase(), desc: (m[2] ?? '').toLowerCase() === 'desc' }
  })
}

function sortHits(hits: Hit[], order: Order[]): void {
  const keyOf = (h: Hit, column: string): unknown => {
    if (column === '@search.score') return h.score
    const col = h.scope.table.def.byName.get(column)
    return col ? h.row[col.index] : null
  }
  const by: Order[] = order.length ? order : [{ column: '@search.score', desc: true }]
  hits.sort((a, b) => {
    for (const o of by) {
      const c = compare(keyOf(a, o.column), keyOf(b, o.column))
      if (c !== 0) return o.desc ? -c : c
    }
    // Learn: equal scores come in no set order; the emulator's is stable (primary name, then id)
    const an = String(
      a.row[(a.scope.table.def.byName.get(a.scope.table.def.primaryName) as ColumnDef).index] ?? '',
    )
    const bn = String(
      b.row[(b.scope.table.def.byName.get(b.scope.table.def.primaryName) as ColumnDef).index] ?? '',
    )
    return an.localeCompare(bn) || a.scope.table.id(a.row).localeCompare(b.scope.table.id(b.row))
  })
}

function attributes(
  org: OrgModel,
  ctx: CallContext,
  scope: Scope,
  row: Row,
  root: string,
): Record<string, unknown> {
  const prefs = {
    returnRepresentation: false,
    continueOnError: false,
    annotations: ['OData.Community.Display.V1.FormattedValue'],
  }
  const out: Record<string, unknown> = {}
  const def = scope.table.def
  const selected = new Set(scope.select.map((c) => c.name))
  for (const [k, v] of Object.entries(org.serialize(scope.table, row, scope.select, prefs, ctx, [], root))) {
    if (k === '@odata.etag') continue
    if (k === def.primaryId && !selected.has(k)) continue
    // lookups are named by their column (`primarycontactid`), not the Web API's `_primarycontactid_value`
    out[k.replace(/^_(.+)_value(?=@|$)/, '$1')] = v
  }
  return out
}
