import { randomUUID } from 'node:crypto'
import { Fault } from './errors.ts'
import { matchesEtag } from './etag.ts'
import { bindNames, lookupChanges, lookupTable, navColumn } from './lookups.ts'
import type { ColumnDef, TableDef } from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { checkAppend } from './privileges.ts'
import type { CallContext } from './request.ts'
import type { Row, Table } from './store.ts'
import { coerce } from './values.ts'

/** Build and insert a row from a JSON body (no privilege checks); used by the seed and the admin API too. */
export function createRow(
  org: OrgModel,
  ctx: CallContext | undefined,
  table: Table,
  body: Record<string, unknown>,
  fixed?: Map<string, unknown>,
): Row {
  const def = table.def
  const row: Row = new Array(def.width).fill(null)
  const now = nowSeconds(org)
  const pending = org.applyBody(ctx, table, body, row, true)
  if (fixed) {
    for (const [k, v] of fixed) {
      const i = def.byName.get(k)?.index ?? def.typeSlots.get(k)
      if (i !== undefined) row[i] = v
    }
  }
  const idIndex = table.idIndex
  if (row[idIndex] === null) row[idIndex] = randomUUID()
  const userId = (ctx?.userId ?? org.systemUserId) || null
  const sys = def.sys
  row[sys.createdon] = now
  row[sys.modifiedon] = now
  row[sys.createdby] = userId
  row[sys.modifiedby] = userId
  if (ctx?.onBehalfOf) {
    row[sys.createdonbehalfby] = ctx.callerId
    row[sys.modifiedonbehalfby] = ctx.callerId
  }
  if (sys.ownerid >= 0 && row[sys.ownerid] === null) row[sys.ownerid] = userId
  if (def.systemColumns.has('statecode') && row[sys.statecode] === null) {
    row[sys.statecode] = 0
    row[sys.statuscode] = 1
  }
  if (def.logicalName === 'contact' || def.logicalName === 'systemuser') computeColumns(def, row)
  beforeCreate(org, table, row)
  row[sys.versionnumber] = org.store.nextVersion()
  org.store.insert(table, row)
  for (const p of pending) p(table.id(row))
  if (def.logicalName === 'businessunit' && org.rootBusinessUnitId !== '')
    org.onBusinessUnitCreated?.(table.id(row))
  return row
}

function computeColumns(def: TableDef, row: Row): void {
  if (def.logicalName === 'contact' || def.logicalName === 'systemuser') {
    const first = row[(def.byName.get('firstname') as ColumnDef).index]
    const last = row[(def.byName.get('lastname') as ColumnDef).index]
    const full = def.byName.get('fullname') as ColumnDef
    if (def.logicalName === 'contact' || row[full.index] === null || row[full.index] === '') {
      const name = [first, last].filter((x) => typeof x === 'string' && x !== '').join(' ')
      if (name !== '' || def.logicalName === 'contact') row[full.index] = name === '' ? null : name
    }
  }
}

/** Table-specific rules on create: business units for users and roles, application users need consent. */
function beforeCreate(org: OrgModel, table: Table, row: Row): void {
  const def = table.def
  const col = (n: string) => def.byName.get(n) as ColumnDef
  if (def.logicalName === 'systemuser') {
    const bu = col('businessunitid')
    if (row[bu.index] === null) row[bu.index] = org.rootBusinessUnitId
    const appId = row[col('applicationid').index]
    if (typeof appId === 'string') {
      // Creating an application user resolves the app's service principal in the org's tenant (Entra ID); without
      // consent there is none, and Dataverse refuses the user.
      const sp = org.world.getServicePrincipal(org.org.tenantId, appId)
      if (!sp) {
        throw Fault.invalidArgument(
          `The application with id ${appId} was not found in the directory of tenant ${org.org.tenantId}. Grant admin consent to the application in this tenant before creating its application user.`,
        )
      }
      if (table.getByKey(new Map([['applicationid', appId]]))) throw Fault.duplicateKey()
      const app = org.world.getApp(appId)
      row[col('azureactivedirectoryobjectid').index] = sp.objectId
      if (row[col('accessmode').index] === null) row[col('accessmode').index] = 4
      if (row[col('fullname').index] === null) row[col('fullname').index] = `# ${app?.displayName ?? appId}`
      if (row[col('domainname').index] === null) row[col('domainname').index] = `${appId}@emulator.local`
    }
    if (row[col('isdisabled').index] === null) row[col('isdisabled').index] = false
    if (row[col('accessmode').index] === null) row[col('accessmode').index] = 0
    org.securityVersion++
  } else if (def.logicalName === 'role') {
    const bu = col('businessunitid')
    if (row[bu.index] === null) row[bu.index] = org.rootBusinessUnitId
  } else if (def.logicalName === 'businessunit') {
    const parent = col('parentbusinessunitid')
    if (row[parent.index] === null && org.rootBusinessUnitId !== '')
      row[parent.index] = org.rootBusinessUnitId
  }
}

/**
 * Apply a JSON body to a row through `assign`. Returns deferred actions (collection binds, deep inserts) to run once
 * the row exists.
 */
export function applyBody(
  org: OrgModel,
  ctx: CallContext | undefined,
  table: Table,
  body: Record<string, unknown>,
  target: Row | Map<number, unknown>,
  creating: boolean,
): ((id: string) => void)[] {
  const def = table.def
  const pending: ((id: string) => void)[] = []
  const set = Array.isArray(target)
    ? (index: number, value: unknown) => {
        target[index] = value
      }
    : (index: number, value: unknown) => {
        target.set(index, value)
      }
  const assign = (col: ColumnDef, value: unknown) => set(col.index, value)
  // a lookup's value and, for a multi-table one, the table it points at
  const assignLookup = (col: ColumnDef, to: string, id: string | null) => {
    for (const [i, v] of lookupChanges(col, to, id)) set(i, v)
  }
  for (const [key, value] of Object.entries(body)) {
    if (key === '@odata.type') {
      checkODataType(def, value)
      continue
    }
    if (key.startsWith('@')) continue
    const at = key.indexOf('@')
    if (at > 0) {
      const prop = key.slice(0, at)
      const annotation = key.slice(at + 1)
      if (annotation !== 'odata.bind') continue
      const nav = def.navigations.get(prop)
      if (!nav) throw Fault.invalidProperty(prop, def.logicalName)
      if (nav.kind === 'single') {
        const col = navColumn(def, nav)
        if (value === null) {
          assignLookup(col, nav.target, null)
          continue
        }
        if (typeof value !== 'string')
          throw Fault.badPayload(def.logicalName, `'${key}' must be an entity URL.`)
        // the navigation names the table: a row of another table (even another target of the column) is refused
        const target = org.resolveReference(ctx, value, nav.target)
        checkAppend(org, ctx, def, target.table.def)
        assignLookup(col, nav.target, target.table.id(target.row))
      } else {
        if (!Array.isArray(value))
          throw Fault.badPayload(def.logicalName, `'${key}' must be an array of entity URLs.`)
        const refs = value.map((v) => {
          if (typeof v !== 'string')
            throw Fault.badPayload(def.logicalName, `'${key}' must be an array of entity URLs.`)
          return org.resolveReference(ctx, v, nav.target)
        })
        pending.push((id) => {
          for (const ref of refs) org.associate(ctx, table, id, nav, ref.table, ref.row)
        })
      }
      continue
    }
    const nav = def.navigations.get(key)
    if (nav && (!def.byName.has(key) || (typeof value === 'object' && value !== null))) {
      // deep insert
      if (!creating)
        throw Fault.badPayload(def.logicalName, `Deep insert through '${key}' is only allowed on create.`)
      const target = org.table(nav.target)
      if (nav.kind === 'single') {
        if (value === null) continue
        if (typeof value !== 'object' || Array.isArray(value)) {
          throw Fault.badPayload(def.logicalName, `'${key}' must be an object to deep insert.`)
        }
        org.checkPrivilege(ctx, 'Create', target.def)
        const child = org.createRow(ctx, target, value as Record<string, unknown>)
        assignLookup(navColumn(def, nav), nav.target, target.id(child))
      } else {
        if (!Array.isArray(value))
          throw Fault.badPayload(def.logicalName, `'${key}' must be an array to deep insert.`)
        for (const v of value) {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) {
            throw Fault.badPayload(def.logicalName, `'${key}' must be an array of objects to deep insert.`)
          }
        }
        org.checkPrivilege(ctx, 'Create', target.def)
        pending.push((id) => {
          for (const v of value as Record<string, unknown>[]) {
            if (nav.manyToMany) {
              const child = org.createRow(ctx, target, v)
              org.associate(ctx, table, id, nav, target, child)
            } else {
              org.createRow(
                ctx,
                target,
                v,
                relatedFixed(target.def, nav.column as string, def.logicalName, id),
              )
            }
          }
        })
      }
      continue
    }
    const col = def.byName.get(key)
    if (!col) throw Fault.invalidProperty(key, def.logicalName)
    if (col.type === 'lookup') {
      if (value !== null) {
        throw Fault.badPayload(
          def.logicalName,
          `Set the lookup '${key}' with ${bindNames(col)} and an entity URL; only null clears it directly.`,
        )
      }
      assignLookup(col, '', null)
      continue
    }
    if (col.readOnly) continue
    if (col.name === def.primaryId && !creating) {
      // Ignored on update (the URL names the row), but it must still be a GUID: Dataverse refuses any other value.
      coerce(def, col, value)
      continue
    }
    assign(col, coerce(def, col, value))
  }
  return pending
}

/** Update a row with audit columns and a new version. */
export function touch(
  org: OrgModel,
  ctx: CallContext | undefined,
  table: Table,
  row: Row,
  changes: Map<number, unknown>,
): void {
  const def = table.def
  const col = (n: string) => def.byName.get(n) as ColumnDef
  changes.set(col('modifiedon').index, nowSeconds(org))
  changes.set(col('modifiedby').index, ctx?.userId ?? org.systemUserId)
  changes.set(col('modifiedonbehalfby').index, ctx?.onBehalfOf ? ctx.callerId : null)
  changes.set(col('versionnumber').index, org.store.nextVersion())
  if (def.logicalName === 'contact' || def.logicalName === 'systemuser') {
    const next = row.slice()
    for (const [i, v] of changes) next[i] = v
    computeColumns(def, next)
    const full = col('fullname').index
    if (next[full] !== row[full]) changes.set(full, next[full])
  }
  if (def.logicalName === 'systemuser') org.securityVersion++
  org.store.update(table, row, changes)
}

export function deleteRow(org: OrgModel, table: Table, row: Row): void {
  const id = table.id(row)
  const logical = table.def.logicalName
  for (const rel of org.store.relationships.values()) {
    if (rel.left !== logical && rel.right !== logical) continue
    for (const other of [...rel.related(logical, id)]) {
      if (rel.left === logical) org.store.unrelate(rel, id, other)
      else org.store.unrelate(rel, other, id)
    }
  }
  for (const t of org.store.tables.values()) {
    for (const c of t.def.columns) {
      if (!c.targets?.some((x) => x.table === logical) || t.def.systemColumns.has(c.name)) continue
      const refs = t.referencing(c.index, id)
      if (!refs) continue
      for (const r of [...refs]) {
        if (lookupTable(c, r) !== logical) continue
        // the referencing row changed: a new version, so change tracking reports it
        const changes = new Map<number, unknown>(lookupChanges(c, logical, null))
        if (t.def.sys.versionnumber >= 0) changes.set(t.def.sys.versionnumber, org.store.nextVersion())
        org.store.update(t, r, changes)
      }
    }
  }
  org.store.remove(table, row)
  if (logical === 'systemuser' || logical === 'role') org.securityVersion++
}

/** Create one row as the caller (the create privilege checked): `POST {set}` and each `CreateMultiple` target. */
export function insert(org: OrgModel, ctx: CallContext, table: Table, body: Record<string, unknown>): Row {
  org.checkPrivilege(ctx, 'Create', table.def)
  return org.createRow(ctx, table, body)
}

/**
 * Update the row `ref` names, or create it with the id / alternate key values of `ref` when it does not exist;
 * `If-Match` / `If-None-Match` as on `PATCH {set}({key})`. Also each `UpdateMultiple` (`If-Match: *`) and
 * `UpsertMultiple` target.
 */
export function upsertRow(
  org: OrgModel,
  ctx: CallContext,
  ref: EntityRef,
  body: Record<string, unknown>,
  conditions: { ifMatch?: string | null; ifNoneMatch?: string | null },
): { row: Row; created: boolean } {
  const table = ref.table
  const def = table.def
  const { ifMatch, ifNoneMatch } = conditions
  if (ref.row) {
    if (ifNoneMatch === '*') throw Fault.duplicate()
    if (ifMatch && !matchesEtag(ifMatch, org.etag(table, ref.row))) throw Fault.versionMismatch()
    org.checkPrivilege(ctx, 'Write', def)
    const row = ref.row
    const changes = new Map<number, unknown>()
    const pending = org.applyBody(ctx, table, body, changes, false)
    org.touch(ctx, table, row, changes)
    for (const p of pending) p(table.id(row))
    return { row, created: false }
  }
  if (ifMatch) throw ref.id ? Fault.notFound(def.logicalName, ref.id) : Fault.notFoundByKey(def.logicalName)
  org.checkPrivilege(ctx, 'Create', def)
  const fixed = new Map<string, unknown>(ref.keyValues ?? [])
  if (ref.id) fixed.set(def.primaryId, ref.id)
  return { row: org.createRow(ctx, table, body, fixed), created: true }
}

/**
 * The fixed values of a row created through a one-to-many navigation of `table` (deep insert, `POST {set}(id)/{nav}`):
 * its lookup `column` names `id`, and for a multi-table lookup the table.
 */
export function relatedFixed(def: TableDef, column: string, table: string, id: string): Map<string, unknown> {
  const fixed = new Map<string, unknown>([[column, id]])
  const col = def.byName.get(column)
  if (col?.typeIndex !== undefined) fixed.set(`${column}type`, table)
  return fixed
}

export function requireRow(ref: EntityRef): Row {
  if (ref.row) return ref.row
  if (ref.id) throw Fault.notFound(ref.table.def.logicalName, ref.id)
  throw Fault.notFoundByKey(ref.table.def.logicalName)
}

/** Dataverse keeps date-times to the second; seconds since the epoch also fit V8's small integers. */
export function nowSeconds(org: OrgModel): number {
  return Math.floor(org.world.clock.now() / 1000)
}

/**
 * `@odata.type` in a record body names its entity type (OData JSON Format §4.5.3); a type the model does not know, or
 * another table's, is refused as OData refuses it: "A type named 'X' could not be resolved by the model".
 */
function checkODataType(def: TableDef, value: unknown): void {
  const expected = `Microsoft.Dynamics.CRM.${def.logicalName}`
  if (typeof value === 'string' && value.replace(/^#/, '') === expected) return
  throw Fault.badPayload(
    def.logicalName,
    typeof value === 'string'
      ? `A type named '${value.slice(0, 100)}' could not be resolved by the model for this entity set; use '${expected}'.`
      : `'@odata.type' must be a type name such as '${expected}'.`,
  )
}
