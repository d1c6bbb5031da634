import type { ColumnDef, NavigationDef, TableDef } from './metadata.ts'
import type { Row } from './store.ts'

// A multi-table lookup (Learn, "Multi-table lookup columns"; Customer = account or contact) keeps one value, the
// related row's id, and which table that row is in: `_parentcustomerid_value` plus its lookuplogicalname annotation.
// Each navigation property (`parentcustomerid_account`, `parentcustomerid_contact`) reaches the row only when the
// value points at its table; the other reads null.

/** The logical name of the table a row's lookup points at, or undefined when the lookup is empty. */
export function lookupTable(col: ColumnDef, row: Row): string | undefined {
  const v = row[col.index]
  if (v === null || v === undefined) return undefined
  const first = col.targets?.[0]?.table
  if (col.typeIndex === undefined) return first
  const t = row[col.typeIndex]
  // state written before the column had several targets points at its first (then only) target
  return typeof t === 'string' ? t : first
}

/** The row changes that point `col` at `id` in `table`, or clear it (`id` null). */
export function lookupChanges(col: ColumnDef, table: string, id: string | null): [number, unknown][] {
  const out: [number, unknown][] = [[col.index, id]]
  if (col.typeIndex !== undefined) out.push([col.typeIndex, id === null ? null : table])
  return out
}

/** The lookup column a navigation property reads (on `def` when single-valued, on its target when collection-valued). */
export function navColumn(def: TableDef, nav: NavigationDef): ColumnDef {
  return def.byName.get(nav.column as string) as ColumnDef
}

/** The id a single-valued navigation property names in `row`: the lookup's value when it points at the nav's table. */
export function navigatedId(def: TableDef, nav: NavigationDef, row: Row): string | undefined {
  const col = navColumn(def, nav)
  const id = row[col.index]
  return typeof id === 'string' && lookupTable(col, row) === nav.target ? id : undefined
}

/** The single-valued navigation property of `col` that reaches `table` (for messages and annotations). */
export function navigationTo(col: ColumnDef, table: string | undefined): string | undefined {
  return col.targets?.find((t) => t.table === table)?.navigation
}

/** `a@odata.bind' or 'b@odata.bind'`: how a caller sets the lookup. */
export function bindNames(col: ColumnDef): string {
  return (col.targets ?? []).map((t) => `'${t.navigation}@odata.bind'`).join(' or ')
}
