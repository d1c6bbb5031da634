import { Fault } from './errors.ts'
import { FUNCTION_OPERATORS, functionCondition } from './fetchxml-operators.ts'
import { filterEnv } from './filter-env.ts'
import { lookupTable } from './lookups.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import {
  category,
  compareNullable,
  type FilterEnv,
  type Predicate,
  resolveColumn,
  rowComparator,
} from './query.ts'
import { readFilter } from './record-access.ts'
import { type ApiResponse, type CallContext, json, type Preferences, wantsAnnotation } from './request.ts'
import type { Row, Table } from './store.ts'
import { output, parseDate } from './values.ts'
import { parseXml, type XmlElement } from './xml.ts'

const OPERATORS = new Set([
  'eq',
  'ne',
  'neq',
  'gt',
  'ge',
  'lt',
  'le',
  'like',
  'not-like',
  'null',
  'not-null',
  'in',
  'not-in',
  'begins-with',
  'not-begin-with',
  'ends-with',
  'not-end-with',
])

function conditionValue(def: TableDef, col: ColumnDef, raw: string): unknown {
  const cat = category(col.type)
  if (cat === 'string') return raw.toLowerCase()
  if (cat === 'guid') {
    const v = raw.replace(/^\{|\}$/g, '').toLowerCase()
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v)) {
      throw Fault.syntax(`'${raw}' is not a valid GUID for attribute '${col.name}' of '${def.logicalName}'.`)
    }
    return v
  }
  if (cat === 'boolean') return raw === '1' || raw.toLowerCase() === 'true'
  if (cat === 'datetime') {
    const t = parseDate(raw)
    if (t === undefined) throw Fault.syntax(`'${raw}' is not a valid date for attribute '${col.name}'.`)
    return t / 1000
  }
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n))
    throw Fault.syntax(`'${raw}' is not a number for attribute '${col.name}'.`)
  return n
}

function likeToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|\\]/g, '\\$&')
    .replaceAll('%', '.*')
    .replaceAll('_', '.')
  return new RegExp(`^${body}$`, 'is')
}

function compileFilterElement(def: TableDef, el: XmlElement, env: FilterEnv): Predicate {
  const type = el.attrs.get('type') ?? 'and'
  if (type !== 'and' && type !== 'or')
    throw Fault.syntax(`Filter type '${type}' is not valid; use 'and' or 'or'.`)
  const parts: Predicate[] = []
  for (const child of el.children) {
    if (child.name === 'filter') parts.push(compileFilterElement(def, child, env))
    else if (child.name === 'condition') parts.push(compileCondition(def, child, env))
    else throw Fault.syntax(`Unexpected element '${child.name}' in a FetchXML filter.`)
  }
  if (parts.length === 0) return () => true
  return type === 'and' ? (r) => parts.every((p) => p(r)) : (r) => parts.some((p) => p(r))
}

function compileCondition(def: TableDef, el: XmlElement, env: FilterEnv): Predicate {
  const attr = el.attrs.get('attribute')
  const op = el.attrs.get('operator')
  if (!attr || !op) throw Fault.syntax('A FetchXML condition needs attribute and operator.')
  if (FUNCTION_OPERATORS.has(op)) return functionCondition(def, el, attr, op, env)
  if (!OPERATORS.has(op))
    throw Fault.syntax(`The FetchXML condition operator '${op}' is not supported by the emulator.`)
  const col = resolveColumn(def, attr)
  const i = col.index
  const cat = category(col.type)
  if (op === 'null') return (r) => r[i] === null || r[i] === undefined
  if (op === 'not-null') return (r) => r[i] !== null && r[i] !== undefined
  const norm = (v: unknown) => (typeof v === 'string' && cat === 'string' ? v.toLowerCase() : v)
  if (op === 'in' || op === 'not-in') {
    const given = el.children.filter((c) => c.name === 'value')
    // "in" takes its values as <value> elements (Dataverse docs, FetchXML condition element); none is an error.
    if (given.length === 0) {
      throw Fault.syntax(`The FetchXML condition '${op}' on '${attr}' needs at least one <value> element.`)
    }
    const values = new Set(given.map((c) => conditionValue(def, col, c.text)))
    return op === 'in' ? (r) => values.has(norm(r[i])) : (r) => r[i] !== null && !values.has(norm(r[i]))
  }
  const raw = el.attrs.get('value')
  if (raw === undefined) throw Fault.syntax(`The FetchXML condition on '${attr}' needs a value.`)
  if (['like', 'not-like', 'begins-with', 'not-begin-with', 'ends-with', 'not-end-with'].includes(op)) {
    if (cat !== 'string') throw Fault.syntax(`The operator '${op}' needs a text attribute.`)
    const pattern = op.includes('begin') ? `${raw}%` : op.includes('end') ? `%${raw}` : raw
    const re = likeToRegExp(pattern)
    const negate = op.startsWith('not-')
    return (r) => typeof r[i] === 'string' && re.test(r[i] as string) !== negate
  }
  const value = conditionValue(def, col, raw)
  return (r) => {
    const v = r[i]
    if (v === null || v === undefined) return false
    const c = compareNullable(v, value, cat)
    switch (op) {
      case 'eq':
        return c === 0
      case 'ne':
      case 'neq':
        return c !== 0
      case 'gt':
        return c > 0
      case 'ge':
        return c >= 0
      case 'lt':
        return c < 0
      default:
        return c <= 0
    }
  }
}

interface Link {
  alias: string
  inner: boolean
  columns: ColumnDef[]
  /** The first related row that passes the link's filters, or undefined. */
  match(row: Row): Row | undefined
}

/**
 * `<link-entity name from to link-type alias>`: many-to-one joins add the linked row's attributes as `alias.attribute`;
 * a one-to-many link acts on the first matching row (inner = the row must have one).
 */
function parseLink(
  core: OrgModel,
  ctx: CallContext,
  parent: TableDef,
  el: XmlElement,
  n: number,
  env: FilterEnv,
): Link {
  const name = el.attrs.get('name')
  const fromName = el.attrs.get('from')
  const toName = el.attrs.get('to')
  if (!name || !fromName || !toName) throw Fault.syntax('A <link-entity> needs name, from and to.')
  const linked = core.store.tables.get(name)
  if (!linked) throw Fault.syntax(`The FetchXML link-entity '${name}' is not a table of this org.`)
  core.checkPrivilege(ctx, 'Read', linked.def)
  const readable = readFilter(core, ctx, linked.def)
  const linkType = el.attrs.get('link-type') ?? 'inner'
  if (linkType !== 'inner' && linkType !== 'outer')
    throw Fault.syntax(`The link-type '${linkType}' is not supported.`)
  const from = resolveColumn(linked.def, fromName)
  const to = resolveColumn(parent, toName)
  const columns: ColumnDef[] = []
  const filters: Predicate[] = []
  for (const child of el.children) {
    if (child.name === 'attribute') {
      const a = child.attrs.get('name')
      if (!a) throw Fault.syntax('An <attribute> needs a name.')
      columns.push(resolveColumn(linked.def, a))
    } else if (child.name === 'all-attributes') columns.push(...linked.def.columns)
    else if (child.name === 'filter') filters.push(compileFilterElement(linked.def, child, env))
    else
      throw Fault.syntax(
        `The FetchXML element '${child.name}' inside link-entity is not supported by the emulator.`,
      )
  }
  // a linked row the caller cannot read does not join (record-access.ts)
  if (readable) filters.unshift(readable)
  const pass = (r: Row) => filters.every((f) => f(r))
  // a multi-table lookup joins only the rows of the table its value points at (the lookup names the table as well)
  const toLinked = (row: Row) => to.typeIndex === undefined || lookupTable(to, row) === name
  const fromParent = (r: Row) => from.typeIndex === undefined || lookupTable(from, r) === parent.logicalName
  const match = (row: Row): Row | undefined => {
    const v = row[to.index]
    if (v === null || v === undefined) return undefined
    if (from.name === linked.def.primaryId) {
      const r = toLinked(row) ? linked.get(String(v)) : undefined
      return r && pass(r) ? r : undefined
    }
    if (from.type === 'lookup') {
      for (const r of linked.referencing(from.index, String(v)) ?? []) if (fromParent(r) && pass(r)) return r
      return undefined
    }
    const cat = category(from.type)
    for (const r of linked.byId.values())
      if (compareNullable(r[from.index], v, cat) === 0 && pass(r)) return r
    return undefined
  }
  return { alias: el.attrs.get('alias') ?? `${name}${n}`, inner: linkType === 'inner', columns, match }
}

const positiveInt = (s: string | undefined, name: string): number | undefined => {
  if (s === undefined) return undefined
  if (!/^\d{1,9}$/.test(s) || Number(s) < 1)
    throw Fault.syntax(`The FetchXML attribute '${name}' must be a positive integer.`)
  return Number(s)
}

// Dataverse docs, "Aggregate data using FetchXml": <fetch aggregate="true">, and on each attribute an alias and one
// of these functions.
const AGGREGATES = new Set(['avg', 'count', 'countcolumn', 'max', 'min', 'sum'])

/** Refuses a malformed aggregate attribute as Dataverse does, then a well-formed one as unsupported here. */
function checkAggregate(fetch: XmlElement, attribute: XmlElement, name: string): void {
  const fn = attribute.attrs.get('aggregate')
  const aggregating = fetch.attrs.get('aggregate') === 'true'
  if (fn === undefined && !attribute.attrs.has('groupby') && !aggregating) return
  if (fn !== undefined && !AGGREGATES.has(fn)) {
    throw Fault.syntax(
      `The aggregate '${fn.slice(0, 40)}' on '${name}' is not one of avg, count, countcolumn, max, min, sum.`,
    )
  }
  if (fn !== undefined && !aggregating) {
    throw Fault.syntax(`The aggregate on '${name}' needs aggregate="true" on the <fetch> element.`)
  }
  if (!attribute.attrs.get('alias')) {
    throw Fault.syntax(`The attribute '${name}' of an aggregate query needs an alias.`)
  }
  throw Fault.syntax(
    'FetchXML aggregation is not supported by the emulator; use $apply (groupby, aggregate) with the Web API instead.',
  )
}

/**
 * Run `?fetchXml=` on a table: attributes, all-attributes, order, nested and/or filters with the common operators,
 * `top`, `count` + `page` + `paging-cookie` paging with `@Microsoft.Dynamics.CRM.fetchxmlpagingcookie` and
 * `@Microsoft.Dynamics.CRM.morerecords` (Dataverse docs, "Page results using FetchXml"). Null values are omitted.
 */
export function runFetchXml(
  core: OrgModel,
  ctx: CallContext,
  table: Table,
  text: string,
  root: string,
  prefs: Preferences,
  countOption = false,
): ApiResponse {
  const def = table.def
  const fetch = parseXml(text)
  if (fetch.name !== 'fetch') throw Fault.syntax('The fetchXml parameter must have a <fetch> root element.')
  const entity = fetch.children.find((c) => c.name === 'entity')
  if (!entity || fetch.children.length !== 1)
    throw Fault.syntax('A <fetch> needs exactly one <entity> element.')
  if (entity.attrs.get('name') !== def.logicalName) {
    throw Fault.syntax(
      `The entity name '${entity.attrs.get('name') ?? ''}' in the FetchXML does not match the entity set '${def.entitySetName}'.`,
    )
  }
  let columns: ColumnDef[] | undefined = []
  const order: { col: ColumnDef; desc: boolean }[] = []
  const predicates: Predicate[] = []
  const links: Link[] = []
  const env = filterEnv(core, ctx)
  for (const child of entity.children) {
    if (child.name === 'attribute') {
      const n = child.attrs.get('name')
      if (!n) throw Fault.syntax('An <attribute> needs a name.')
      const col = resolveColumn(def, n)
      checkAggregate(fetch, child, n)
      if (columns && !columns.includes(col)) columns.push(col)
    } else if (child.name === 'all-attributes') columns = undefined
    else if (child.name === 'order') {
      const n = child.attrs.get('attribute')
      if (!n) throw Fault.syntax('An <order> needs an attribute.')
      order.push({ col: resolveColumn(def, n), desc: child.attrs.get('descending') === 'true' })
    } else if (child.name === 'filter') predicates.push(compileFilterElement(def, child, env))
    else if (child.name === 'link-entity') links.push(parseLink(core, ctx, def, child, links.length + 1, env))
    else throw Fault.syntax(`The FetchXML element '${child.name}' is not supported by the emulator.`)
  }
  const readable = readFilter(core, ctx, def)
  if (readable) predicates.unshift(readable)
  for (const link of links) if (link.inner) predicates.push((r) => link.match(r) !== undefined)
  if (columns && columns.length === 0) columns = undefined
  const top = positiveInt(fetch.attrs.get('top'), 'top')
  const count = positiveInt(fetch.attrs.get('count'), 'count')
  const page = positiveInt(fetch.attrs.get('page'), 'page') ?? 1
  if (top !== undefined && (count !== undefined || fetch.attrs.has('page'))) {
    throw Fault.syntax('The top attribute cannot be combined with count or page.')
  }
  const pageSize = Math.min(top ?? count ?? prefs.maxPageSize ?? 5000, 5000)
  const cmp = rowComparator(order)
  const rows: Row[] = []
  for (const r of table.byId.values()) if (predicates.every((p) => p(r))) rows.push(r)
  rows.sort(cmp)
  const total = rows.length
  let start = (page - 1) * pageSize
  const cookie = fetch.attrs.get('paging-cookie')
  if (cookie) {
    const last = /<\w+ last="\{?([0-9a-fA-F-]{36})\}?"/.exec(cookie)
    const lastRow = last ? table.get(last[1] as string) : undefined
    if (lastRow) start = rows.findIndex((r) => cmp(r, lastRow) > 0)
    if (start < 0) start = rows.length
  }
  const pageRows = top !== undefined ? rows.slice(0, top) : rows.slice(start, start + pageSize)
  const more = top === undefined && start + pageSize < rows.length
  const body: Record<string, unknown> = { '@odata.context': `${root}/$metadata#${def.entitySetName}` }
  // Microsoft Learn, Count rows using FetchXml (Web API): returntotalrecordcount, like `&$count=true`, adds
  // `@odata.count` (up to 5,000); the two count annotations come only when the Prefer header asks for them.
  if (fetch.attrs.get('returntotalrecordcount') === 'true' || countOption) {
    body['@odata.count'] = Math.min(total, 5000)
    if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcount'))
      body['@Microsoft.Dynamics.CRM.totalrecordcount'] = Math.min(total, 5000)
    if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'))
      body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = total > 5000
  }
  if (top === undefined) {
    const first = pageRows[0]
    const lastRow = pageRows[pageRows.length - 1]
    if (first && lastRow) {
      const inner = `<cookie page="${page}"><${def.primaryId} last="{${table.id(lastRow).toUpperCase()}}" first="{${table.id(first).toUpperCase()}}" /></cookie>`
      body['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie'] =
        `<cookie pagenumber="${page + 1}" pagingcookie="${encodeURIComponent(encodeURIComponent(inner))}" istracking="False" />`
    }
    body['@Microsoft.Dynamics.CRM.morerecords'] = more
  }
  body.value = pageRows.map((r) => {
    const o = core.serialize(table, r, columns, prefs, ctx)
    for (const link of links) {
      const m = link.match(r)
      if (!m) continue
      for (const col of link.columns) o[`${link.alias}.${col.name}`] = output(col, m[col.index])
    }
    for (const [k, v] of Object.entries(o)) if (v === null) delete o[k]
    return o
  })
  return json(200, body)
}
