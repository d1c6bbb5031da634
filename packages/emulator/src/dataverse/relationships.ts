import type { ColumnDef, NavigationDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { checkAppend } from './privileges.ts'
import type { CallContext } from './request.ts'
import type { Relationship, Row, Table } from './store.ts'

// Associations: N:N relationships and the lookups behind 1:N navigation properties.

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
  const col = other.def.byName.get(nav.column as string) as ColumnDef
  org.touch(ctx, other, otherRow, new Map([[col.index, id]]))
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
  const col = other.def.byName.get(nav.column as string) as ColumnDef
  if (otherRow[col.index] !== id) return
  org.touch(ctx, other, otherRow, new Map([[col.index, null]]))
}

/** Rows related to `id` through a collection-valued navigation. */
export function related(org: OrgModel, table: Table, id: string, nav: NavigationDef): Row[] {
  const target = org.table(nav.target)
  if (nav.manyToMany) {
    const rel = org.store.relationships.get(nav.manyToMany) as Relationship
    return [...rel.related(table.def.logicalName, id)].map((x) => target.get(x)).filter((r): r is Row => !!r)
  }
  const col = target.def.byName.get(nav.column as string) as ColumnDef
  return [...(target.referencing(col.index, id) ?? [])]
}
