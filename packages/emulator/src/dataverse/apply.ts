import { DataverseFault, Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { AliasValues } from './odata-filter.ts'
import {
  category,
  compareNullable,
  type FilterEnv,
  filterFor,
  type Predicate,
  resolveColumn,
  splitTop,
} from './query.ts'
import type { Row } from './store.ts'
import { output, propertyName } from './values.ts'

/** Dataverse's aggregate functions work on at most 50,000 rows (Dataverse docs, "Aggregate data using OData"). */
export const AGGREGATE_LIMIT = 50_000

type Method = 'sum' | 'average' | 'min' | 'max' | 'countdistinct' | 'count'
interface Aggregate {
  col?: ColumnDef
  method: Method
  alias: string
}
interface Plan {
  filters: Predicate[]
  groupBy?: ColumnDef[]
  aggregates: Aggregate[]
}

const ALIAS = /^[A-Za-z_][A-Za-z0-9_]*$/

function parseAggregates(def: TableDef, text: string): Aggregate[] {
  return splitTop(text).map((part) => {
    const t = part.trim()
    const count = /^\$count\s+as\s+(\S+)$/.exec(t)
    if (count) {
      if (!ALIAS.test(count[1] as string))
        throw Fault.syntax(`The alias '${count[1]}' is not valid in $apply.`)
      return { method: 'count', alias: count[1] as string }
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+with\s+(sum|average|min|max|countdistinct)\s+as\s+(\S+)$/.exec(t)
    if (!m || !ALIAS.test(m[3] as string))
      throw Fault.syntax(`The aggregate expression '${t}' is not valid in $apply.`)
    const col = resolveColumn(def, m[1] as string)
    const cat = category(col.type)
    if ((m[2] === 'sum' || m[2] === 'average') && cat !== 'number') {
      throw Fault.syntax(`The aggregate '${m[2]}' needs a number column; '${col.name}' is not one.`)
    }
    return { col, method: m[2] as Method, alias: m[3] as string }
  })
}

/** Parse `$apply`: `filter(...)`, `groupby((a,b)[,aggregate(...)])` and `aggregate(...)`, chained with `/`. */
export function parseApply(def: TableDef, text: string, aliases?: AliasValues, env?: FilterEnv): Plan {
  const plan: Plan = { filters: [], aggregates: [] }
  for (const step of splitTop(text, '/')) {
    const t = step.trim()
    const m = /^(filter|groupby|aggregate)\((.*)\)$/s.exec(t)
    if (!m) throw Fault.syntax(`The $apply transformation '${t}' is not supported.`)
    const body = m[2] as string
    if (plan.groupBy || plan.aggregates.length) {
      throw Fault.syntax(
        'In $apply, filter must come before groupby or aggregate, and only one of those is allowed.',
      )
    }
    if (m[1] === 'filter') plan.filters.push(filterFor(def, body, aliases, env))
    else if (m[1] === 'aggregate') plan.aggregates = parseAggregates(def, body)
    else {
      const g = /^\(([^()]*)\)\s*(?:,\s*aggregate\((.*)\))?$/s.exec(body)
      if (!g) throw Fault.syntax(`The groupby '${body}' is not valid in $apply.`)
      plan.groupBy = splitTop(g[1] as string).map((c) => {
        const col = resolveColumn(def, c.trim())
        if (col.type === 'datetime') throw Fault.syntax('groupby with datetime values is not supported.')
        return col
      })
      if (g[2] !== undefined) plan.aggregates = parseAggregates(def, g[2])
    }
  }
  if (!plan.groupBy && plan.aggregates.length === 0)
    throw Fault.syntax('$apply needs a groupby or an aggregate.')
  return plan
}

function aggregate(rows: Row[], a: Aggregate): unknown {
  if (a.method === 'count') return rows.length
  const col = a.col as ColumnDef
  const values = rows.map((r) => r[col.index]).filter((v) => v !== null && v !== undefined)
  switch (a.method) {
    case 'sum':
      return (values as number[]).reduce((s, v) => s + v, 0)
    case 'average':
      return values.length ? (values as number[]).reduce((s, v) => s + v, 0) / values.length : null
    case 'countdistinct':
      return new Set(values.map((v) => (typeof v === 'string' ? v.toLowerCase() : v))).size
    default: {
      if (!values.length) return null
      const cat = category(col.type)
      const best = values.reduce((x, y) =>
        compareNullable(y, x, cat) * (a.method === 'max' ? 1 : -1) > 0 ? y : x,
      )
      return output(col, best)
    }
  }
}

/** Run a parsed `$apply` over the rows a caller may read. */
export function runApply(rows: Iterable<Row>, plan: Plan): Record<string, unknown>[] {
  const matched: Row[] = []
  for (const r of rows) {
    if (plan.filters.every((f) => f(r))) {
      matched.push(r)
      if (matched.length > AGGREGATE_LIMIT) {
        throw new DataverseFault(
          400,
          '0x8004e023',
          'AggregateQueryRecordLimit exceeded. Cannot perform this operation.',
        )
      }
    }
  }
  const project = (group: Row[], sample: Row | undefined) => {
    const out: Record<string, unknown> = {}
    for (const col of plan.groupBy ?? [])
      out[propertyName(col)] = sample ? output(col, sample[col.index]) : null
    for (const a of plan.aggregates) out[a.alias] = aggregate(group, a)
    return out
  }
  if (!plan.groupBy) return [project(matched, undefined)]
  const groups = new Map<string, Row[]>()
  for (const r of matched) {
    const key = JSON.stringify(
      (plan.groupBy as ColumnDef[]).map((c) => {
        const v = r[c.index]
        return typeof v === 'string' ? v.toLowerCase() : v
      }),
    )
    const g = groups.get(key)
    if (g) g.push(r)
    else groups.set(key, [r])
  }
  const cols = plan.groupBy
  return [...groups.values()]
    .sort((x, y) => {
      for (const c of cols) {
        const d = compareNullable(x[0]?.[c.index], y[0]?.[c.index], category(c.type))
        if (d !== 0) return d
      }
      return 0
    })
    .map((g) => project(g, g[0]))
}
