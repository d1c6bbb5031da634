import { Fault } from './errors.ts'
import type { TableDef } from './metadata.ts'
import { legacyFacet } from './search-legacy.ts'
import type { Row } from './store.ts'

/** What a facet reads of a search hit. */
export interface FacetHit {
  scope: { table: { def: TableDef } }
  row: Row
}

export function compare(a: unknown, b: unknown): number {
  if (a === b) return 0
  if (a === null || a === undefined) return -1
  if (b === null || b === undefined) return 1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}

/** Value facets (Learn: `facets` parameter): `column[,count:N][,sort:count|-count|value|-value]`, `entityname`. */
export function facets(parsed: unknown, hits: FacetHit[], legacy = false): Record<string, unknown[]> {
  if (parsed === undefined) return {}
  const specs = Array.isArray(parsed) ? parsed : [parsed]
  const out: Record<string, unknown[]> = {}
  for (const spec of specs) {
    const [head = '', ...rest] = String(spec).split(',')
    const name = head.trim()
    const opts = new Map(rest.map((r) => r.split(':').map((s) => s.trim()) as [string, string]))
    if (opts.has('values') || opts.has('interval') || opts.has('timeoffset')) {
      throw Fault.invalidArgument(
        `The facet '${String(spec)}' asks for range facets (values, interval), which the emulator does not emulate.`,
      )
    }
    // `table:column` (v2.0) or `table.column` (legacy); `@search.entityname` is the legacy `entityname`
    const split = name.replace(/^@search\.entityname$/, 'entityname').split(legacy ? /[.:]/ : ':')
    const [table, column] = split.length === 2 ? split : [undefined, split[0]]
    const counts = new Map<unknown, number>()
    for (const h of hits) {
      if (table && h.scope.table.def.logicalName !== table) continue
      const col = h.scope.table.def.byName.get(column as string)
      const v = column === 'entityname' ? h.scope.table.def.logicalName : col ? h.row[col.index] : undefined
      if (v === undefined || v === null) continue
      counts.set(v, (counts.get(v) ?? 0) + 1)
    }
    const sort = opts.get('sort') ?? 'count'
    const entries = [...counts].sort((a, b) => {
      if (sort === 'value') return compare(a[0], b[0])
      if (sort === '-value') return compare(b[0], a[0])
      if (sort === '-count') return a[1] - b[1] || compare(a[0], b[0])
      return b[1] - a[1] || compare(a[0], b[0])
    })
    const limit = Number(opts.get('count') ?? 10)
    const kept = entries.slice(0, Number.isInteger(limit) && limit > 0 ? limit : 10)
    if (legacy) {
      out[name] = kept.map(([v, n]) => legacyFacet(v, n))
      continue
    }
    out[name] = kept.map(([v, n]) => ({
      count: n,
      from: null,
      to: null,
      type: 'Value',
      value: v,
      optionalvalue: null,
    }))
  }
  return out
}
