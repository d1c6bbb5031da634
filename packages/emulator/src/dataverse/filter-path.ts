import { Fault } from './errors.ts'
import { resolveColumn } from './filter-values.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { PathExpr } from './odata-filter.ts'
import type { FilterEnv } from './query-functions.ts'
import type { Row } from './store.ts'

/** A column a filter reads, of the row itself or of a related row; `get` is null where a lookup on the way is empty. */
export interface ColumnAccess {
  col: ColumnDef
  get: (row: Row) => unknown
}

/**
 * `nav/…/column` through single-valued navigation properties (Learn, "Filter rows" § filter using lookup column
 * property values). A collection-valued one is refused with the OData message Dataverse gives and the lambda to use.
 */
export function pathAccess(def: TableDef, e: PathExpr, env: FilterEnv): ColumnAccess {
  let current = def
  const hops: ((row: Row) => Row[])[] = []
  for (const name of e.navigations) {
    const nav = current.navigations.get(name)
    if (!nav) throw Fault.unknownProperty(name, current.logicalName)
    if (nav.kind !== 'single') {
      throw Fault.syntax(
        `The parent value for a property access of a property '${e.name}' is not a single value. Property access can only be applied to a single value. '${name}' is collection-valued: filter on its rows with ${name}/any(x: x/${e.name} …) or ${name}/all(…).`,
      )
    }
    if (!env.navigate)
      throw Fault.syntax(`The navigation property '${name}' is not available in this filter.`)
    const related = env.navigate(current, nav)
    hops.push(related.rows)
    current = related.def
  }
  const col = resolveColumn(current, e.name)
  const i = col.index
  return {
    col,
    get: (row) => {
      let r: Row | undefined = row
      for (const hop of hops) {
        r = hop(r)[0]
        if (!r) return null
      }
      return r[i]
    },
  }
}
