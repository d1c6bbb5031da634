import { filterEnv } from './filter-env.ts'
import { formatValue } from './formatted.ts'
import { lookupTable, navigatedId, navigationTo } from './lookups.ts'
import type { ColumnDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import { type ExpandItem, filterFor, parseOrderBy, parseSelect, rowComparator } from './query.ts'
import { readFilter } from './record-access.ts'
import { type CallContext, MAX_PAGE, type Preferences, wantsAnnotation } from './request.ts'
import type { Row, Table } from './store.ts'
import { userFormat } from './user-settings.ts'
import { output, propertyName } from './values.ts'

export function etag(table: Table, row: Row): string {
  return `W/"${row[(table.def.byName.get('versionnumber') as ColumnDef).index]}"`
}

export function serialize(
  org: OrgModel,
  table: Table,
  row: Row,
  select: ColumnDef[] | undefined,
  prefs: Preferences,
  ctx: CallContext | undefined,
  expand: ExpandItem[] = [],
  root = '',
): Record<string, unknown> {
  const def = table.def
  const out: Record<string, unknown> = { '@odata.etag': etag(table, row) }
  const cols = select ?? def.columns
  const withFormatted = wantsAnnotation(prefs, 'OData.Community.Display.V1.FormattedValue')
  const withLogical = wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.lookuplogicalname')
  const withNav = wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.associatednavigationproperty')
  const format = withFormatted ? userFormat(org, ctx?.userId) : undefined
  for (const col of cols) {
    const v = row[col.index]
    const name = propertyName(col)
    if (col.type === 'lookup' && v !== null && v !== undefined) {
      // Learn, "Lookup properties": the annotations name the table and navigation property of the row the value
      // points at, which for a multi-table lookup is one of several
      const logical = lookupTable(col, row)
      if (withFormatted) {
        const target = logical === undefined ? undefined : org.store.tables.get(logical)
        const targetRow = target?.get(v as string)
        if (target && targetRow) {
          const pn = target.def.byName.get(target.def.primaryName)
          if (pn) out[`${name}@OData.Community.Display.V1.FormattedValue`] = targetRow[pn.index]
        }
      }
      const navName = navigationTo(col, logical)
      if (withNav && navName !== undefined)
        out[`${name}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = navName
      if (withLogical && logical !== undefined)
        out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = logical
    } else if (withFormatted && v !== null && v !== undefined) {
      const formatted = formatValue(col, v, format)
      if (formatted !== undefined) out[`${name}@OData.Community.Display.V1.FormattedValue`] = formatted
    }
    out[name] = output(col, v)
  }
  if (select && !select.some((c) => c.name === def.primaryId)) out[def.primaryId] = table.id(row)
  for (const item of expand) out[item.nav.name] = expandValue(org, table, row, item, prefs, ctx, root)
  return out
}

function expandValue(
  org: OrgModel,
  table: Table,
  row: Row,
  item: ExpandItem,
  prefs: Preferences,
  ctx: CallContext | undefined,
  root: string,
): unknown {
  const target = org.table(item.nav.target)
  org.checkPrivilege(ctx, 'Read', target.def)
  const readable = readFilter(org, ctx, target.def)
  const select = item.select === undefined ? undefined : parseSelect(target.def, item.select)
  if (item.nav.kind === 'single') {
    const id = navigatedId(table.def, item.nav, row)
    const r = id === undefined ? undefined : target.get(id)
    return r && (!readable || readable(r)) ? org.serialize(target, r, select, prefs, ctx) : null
  }
  let rows = org.related(table, table.id(row), item.nav)
  if (readable) rows = rows.filter(readable)
  if (item.filter !== undefined)
    rows = rows.filter(filterFor(target.def, item.filter, undefined, filterEnv(org, ctx)))
  const order = item.orderby === undefined ? [] : parseOrderBy(target.def, item.orderby)
  rows.sort(rowComparator(order))
  if (item.top !== undefined) rows = rows.slice(0, item.top)
  const limited = rows.slice(0, MAX_PAGE)
  const value = limited.map((r) => org.serialize(target, r, select, prefs, ctx))
  if (rows.length > MAX_PAGE) return value
  void root
  return value
}
