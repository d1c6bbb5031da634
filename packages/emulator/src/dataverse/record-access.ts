import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { OrgModel } from './org-model.ts'
import type { CallContext } from './request.ts'
import type { Row, Table } from './store.ts'

// Learn, "How record access is determined" (power-platform admin): an operation passes a privilege check (the role
// holds prvRead<Table> at all, else 403) and then an access check on each row: the owner has access at any level;
// otherwise the level decides (Basic: own rows; Local: rows owned in the user's business unit; Deep: that unit and
// its children; Global: all). "Security concepts for developers": organization-owned tables only know Global or None.
// "Verifying access in code": a query returns only the rows the caller can read. Learn does not describe joins
// separately; the emulator applies the same access check to every row a query reaches (the rows of a $filter path or
// lambda, an $expand, a FetchXML link-entity), so a related row the caller cannot read is as if absent: a lookup to it
// reads null, `any` does not see it, an inner link does not match. Sharing, teams and hierarchy security are not
// emulated; a row's business unit is its owner's.

/**
 * The rows of a table the call may read, as a predicate; undefined when it may read them all (no caller, a table
 * without owners, or Read at Global level), so callers skip the per-row check. A missing privilege is not decided
 * here: `checkPrivilege` answers it with a 403 first.
 */
export function readFilter(
  org: OrgModel,
  ctx: CallContext | undefined,
  def: TableDef,
): ((row: Row) => boolean) | undefined {
  const owner = def.sys.ownerid
  if (!ctx || owner < 0) return undefined
  const depth = ctx.depth(`prvRead${def.schemaName}`)
  if (depth === undefined || depth === 'Global') return undefined
  const userId = ctx.userId
  if (depth === 'Basic') return (row) => row[owner] === userId
  const users = org.table('systemuser')
  const bu = (users.def.byName.get('businessunitid') as ColumnDef).index
  const units = businessUnitsOf(org, users.get(userId)?.[bu], depth === 'Deep')
  return (row) => {
    const o = row[owner]
    if (o === userId) return true
    const u = typeof o === 'string' ? users.get(o) : undefined
    return u !== undefined && units.has(u[bu] as string)
  }
}

/** The 403 Dataverse answers for a row the call holds Read on, but not at a level that reaches this row. */
export function checkReadAccess(org: OrgModel, ctx: CallContext | undefined, table: Table, row: Row): void {
  const readable = readFilter(org, ctx, table.def)
  if (!ctx || !readable || readable(row)) return
  throw Fault.accessDenied(ctx.userId, table.def.logicalName, table.id(row), row[table.def.sys.ownerid])
}

/** The unit itself, and with `deep` every unit below it. */
function businessUnitsOf(org: OrgModel, unit: unknown, deep: boolean): Set<string> {
  const out = new Set<string>()
  if (typeof unit !== 'string') return out
  out.add(unit)
  if (!deep) return out
  const bus = org.table('businessunit')
  const parent = (bus.def.byName.get('parentbusinessunitid') as ColumnDef).index
  const children = new Map<string, string[]>()
  for (const b of bus.byId.values()) {
    const p = b[parent]
    if (typeof p !== 'string') continue
    const list = children.get(p)
    if (list) list.push(bus.id(b))
    else children.set(p, [bus.id(b)])
  }
  const queue = [unit]
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const c of children.get(next) ?? []) {
      if (!out.has(c)) {
        out.add(c)
        queue.push(c)
      }
    }
  }
  return out
}
