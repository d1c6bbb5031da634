import { Fault } from './errors.ts'
import { type AliasValues, type FilterExpr, parseFilter } from './odata-filter.ts'
import { category, type OrderBy, type Predicate, rowComparator } from './query.ts'
import type { Row, Table } from './store.ts'

// ------------------------------------------------------------------ paging

export interface Cursor {
  page: number
  seq: number
  values: unknown[]
}

/**
 * The skiptoken has the shape of Dataverse's (`<cookie pagenumber="2" pagingcookie="..." istracking="False" />`);
 * its paging cookie carries the last row's sort values and position, so later pages stay correct while rows change.
 */
export function encodeSkipToken(last: Row, order: OrderBy[], page: number): string {
  const state = Buffer.from(JSON.stringify([last[0], order.map((o) => last[o.col.index] ?? null)])).toString(
    'base64url',
  )
  return `<cookie pagenumber="${page}" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="${page - 1}" emulator="${state}" />`))}" istracking="False" />`
}

export function decodeSkipToken(token: string | null): Cursor | undefined {
  if (token === null) return undefined
  const bad = () => Fault.syntax('The $skiptoken is not valid. Follow @odata.nextLink exactly as returned.')
  const m = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)"/.exec(token)
  if (!m) throw bad()
  try {
    const inner = decodeURIComponent(decodeURIComponent(m[2] as string))
    const s = /emulator="([A-Za-z0-9_-]*)"/.exec(inner)
    if (!s) throw bad()
    const parsed: unknown = JSON.parse(Buffer.from(s[1] as string, 'base64url').toString('utf8'))
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'number' || !Array.isArray(parsed[1])) throw bad()
    return { page: Number(m[1]), seq: parsed[0], values: parsed[1] as unknown[] }
  } catch {
    throw bad()
  }
}

/**
 * Rows that can satisfy a `$filter` whose top-level conjunction has `column eq literal` on the primary id, a
 * single-column key, or a lookup (`_x_value`): taken from an index instead of a scan. The full predicate still runs.
 */
export function indexedCandidates(table: Table, text: string, aliases?: AliasValues): Row[] | undefined {
  let expr: FilterExpr
  try {
    expr = parseFilter(text, aliases)
  } catch {
    return undefined
  }
  const def = table.def
  const conjuncts: FilterExpr[] = []
  const walk = (e: FilterExpr) => {
    if (e.kind === 'and') {
      walk(e.left)
      walk(e.right)
    } else conjuncts.push(e)
  }
  walk(expr)
  for (const c of conjuncts) {
    if (c.kind !== 'compare' || c.op !== 'eq') continue
    const [prop, lit] = c.left.kind === 'property' ? [c.left, c.right] : [c.right, c.left]
    if (prop.kind !== 'property' || lit.kind !== 'literal') continue
    const col = def.byLookupValue.get(prop.name) ?? def.byName.get(prop.name)
    const l = lit.literal
    if (!col || (l.type !== 'string' && l.type !== 'guid')) continue
    if (col.name === def.primaryId && l.type === 'guid') {
      const r = table.get(l.value)
      return r ? [r] : []
    }
    if (col.type === 'lookup' && l.type === 'guid') {
      return [...(table.referencing(col.index, l.value) ?? [])]
    }
    const key = table.keyIndexes.find((k) => k.columns.length === 1 && k.columns[0] === col)
    if (key) {
      const r = key.index.get(l.value.toLowerCase())
      return r ? [r] : []
    }
  }
  return undefined
}

/** A cursor's values must match the query's `$orderby` columns in number and type (a forged token must not crash). */
export function cursorFits(cursor: Cursor, order: OrderBy[]): boolean {
  if (cursor.values.length !== order.length || !Number.isInteger(cursor.seq) || cursor.seq < -1) return false
  return order.every((o, i) => {
    const v = cursor.values[i]
    if (v === null) return true
    const cat = category(o.col.type)
    if (cat === 'string' || cat === 'guid') return typeof v === 'string'
    if (cat === 'boolean') return typeof v === 'boolean'
    return typeof v === 'number' && Number.isFinite(v)
  })
}

/** One page of rows in order, after `cursor`. Without `$orderby` this walks insertion order and stops early. */
export function selectPage(
  table: Table,
  predicate: Predicate | undefined,
  order: OrderBy[],
  limit: number,
  cursor: Cursor | undefined,
  wantTotal: boolean,
  indexed?: Row[],
): { rows: Row[]; more: boolean; total?: number } {
  const out: Row[] = []
  let total: number | undefined
  const all: Iterable<Row> = indexed ?? table.byId.values()
  if (wantTotal) {
    total = 0
    if (!predicate) total = table.size
    else for (const r of all) if (predicate(r)) total++
  }
  if (order.length === 0) {
    const rows = indexed ? [...indexed].sort((a, b) => (a[0] as number) - (b[0] as number)) : table.rows
    let more = false
    const from = cursor ? cursor.seq + 1 : 0
    for (let i = indexed ? 0 : from; i < rows.length; i++) {
      const r = rows[i]
      if (!r || (indexed && (r[0] as number) < from) || (predicate && !predicate(r))) continue
      if (out.length === limit) {
        more = true
        break
      }
      out.push(r)
    }
    return total === undefined ? { rows: out, more } : { rows: out, more, total }
  }
  const cmp = rowComparator(order)
  let candidates: Row[] = []
  for (const r of indexed ?? table.byId.values()) if (!predicate || predicate(r)) candidates.push(r)
  if (cursor) {
    const probe: Row = []
    probe[0] = cursor.seq
    order.forEach((o, i) => {
      probe[o.col.index] = cursor.values[i]
    })
    candidates = candidates.filter((r) => cmp(r, probe) > 0)
  }
  candidates.sort(cmp)
  const rows = candidates.slice(0, limit)
  const more = candidates.length > limit
  return total === undefined ? { rows, more } : { rows, more, total }
}
