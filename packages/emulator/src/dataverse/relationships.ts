import { lookupChanges, lookupTable, navColumn } from './lookups.ts'
import type { NavigationDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { checkAppend } from './privileges.ts'
import type { CallContext } from './request.ts'
import type { Relationship, Row, Table } from './store.ts'

/** Adds or removes the pair in an N:N relationship, whichever side `table` is on. */
function linkManyToMany(
  org: OrgModel,
  table: Table,
  id: string,
  relationship: string,
  other: Table,
  otherRow: Row,
  linked: boolean,
): void {
  const rel = org.store.relationships.get(relationship) as Relationship
  const otherId = other.id(otherRow)
  const [left, right] = table.def.logicalName === rel.left ? [id, otherId] : [otherId, id]
  if (linked) org.store.relate(rel, left, right)
  else org.store.unrelate(rel, left, right)
  if (rel === org.userRoles) org.securityVersion++
}

/** Associate `id` (on `table`) with `other` through a collection-valued navigation. */
export function associate(
  org: OrgModel,
  ctx: CallContext | undefined,
  table: Table,
  id: string,
  nav: NavigationDef,
  other: Table,
  otherRow: Row,
): void {
  checkAppend(org, ctx, table.def, other.def)
  if (nav.manyToMany) {
    linkManyToMany(org, table, id, nav.manyToMany, other, otherRow, true)
    return
  }
  const col = navColumn(other.def, nav)
  org.touch(ctx, other, otherRow, new Map(lookupChanges(col, table.def.logicalName, id)))
}

export function disassociate(
  org: OrgModel,
  ctx: CallContext | undefined,
  table: Table,
  id: string,
  nav: NavigationDef,
  other: Table,
  otherRow: Row,
): void {
  checkAppend(org, ctx, table.def, other.def)
  if (nav.manyToMany) {
    linkManyToMany(org, table, id, nav.manyToMany, other, otherRow, false)
    return
  }
  const col = navColumn(other.def, nav)
  if (otherRow[col.index] !== id || lookupTable(col, otherRow) !== table.def.logicalName) return
  org.touch(ctx, other, otherRow, new Map(lookupChanges(col, table.def.logicalName, null)))
}

/** Rows related to `id` through a collection-valued navigation. */
export function related(org: OrgModel, table: Table, id: string, nav: NavigationDef): Row[] {
  const target = org.table(nav.target)
  if (nav.manyToMany) {
    const rel = org.store.relationships.get(nav.manyToMany) as Relationship
    return [...rel.related(table.def.logicalName, id)].map((x) => target.get(x)).filter((r): r is Row => !!r)
  }
  const col = navColumn(target.def, nav)
  const rows = [...(target.referencing(col.index, id) ?? [])]
  // a multi-table lookup's relationship to this table holds only the rows pointing at this table
  const mine = table.def.logicalName
  return col.typeIndex === undefined ? rows : rows.filter((r) => lookupTable(col, r) === mine)
}
