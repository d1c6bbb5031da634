import { Fault } from './errors.ts'
import { fileColumn } from './file-columns.ts'
import { written } from './handle-entity.ts'
import { bindNames, lookupChanges, lookupTable, navColumn, navigatedId } from './lookups.ts'
import type { NavigationDef } from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { parseSegment } from './paths.ts'
import { checkAppend } from './privileges.ts'
import { parseSelect, rowComparator } from './query.ts'
import { checkReadAccess, readFilter } from './record-access.ts'
import {
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  json,
  MAX_PAGE,
  type Preferences,
  parseBody,
} from './request.ts'
import { relatedFixed, requireRow } from './rows.ts'
import type { Row, Table } from './store.ts'
import { coerce, output, propertyName } from './values.ts'

/** `/{set}({key})/{property|navigation}[/$ref | ({id})/$ref]`. */
export function member(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  rest: string[],
  root: string,
  prefs: Preferences,
): ApiResponse {
  const table = ref.table
  const def = table.def
  const method = req.method.toUpperCase()
  const seg = parseSegment(rest[0] as string)
  if (def.logicalName === 'systemuser' && seg.name === 'RetrieveUserPrivileges')
    throw Fault.unqualifiedBound(seg.name)
  if (
    def.logicalName === 'systemuser' &&
    rest.length === 1 &&
    seg.name === 'Microsoft.Dynamics.CRM.RetrieveUserPrivileges'
  ) {
    if (method !== 'GET' || (seg.key !== undefined && seg.key.trim() !== ''))
      throw Fault.noResource(req.url.href)
    org.checkPrivilege(ctx, 'Read', def)
    return json(200, {
      '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse`,
      RolePrivileges: org.userPrivileges(table.id(requireRow(ref))),
    })
  }
  const nav = def.navigations.get(seg.name)
  if (nav) {
    const isRef = rest[1] === '$ref'
    if (rest.length > 2 || (rest.length === 2 && !isRef)) throw Fault.segmentNotFound(rest[1] as string)
    const row = requireRow(ref)
    const id = table.id(row)
    const target = org.table(nav.target)
    if (!isRef && method === 'POST' && nav.kind === 'collection' && seg.key === undefined) {
      return createRelated(org, ctx, req, table, id, nav, target, root, prefs)
    }
    if (!isRef) {
      if (method !== 'GET' || seg.key !== undefined) throw Fault.noResource(req.url.href)
      org.checkPrivilege(ctx, 'Read', def)
      org.checkPrivilege(ctx, 'Read', target.def)
      checkReadAccess(org, ctx, table, row)
      const selectText = req.url.searchParams.get('$select')
      const select = selectText === null ? undefined : parseSelect(target.def, selectText)
      if (nav.kind === 'single') {
        const tid = navigatedId(def, nav, row)
        const tr = tid === undefined ? undefined : target.get(tid)
        if (!tr) return { status: 204, headers: {} }
        checkReadAccess(org, ctx, target, tr)
        return json(200, {
          '@odata.context': `${root}/$metadata#${target.def.entitySetName}/$entity`,
          ...org.serialize(target, tr, select, prefs, ctx),
        })
      }
      const readable = readFilter(org, ctx, target.def)
      const rows = org
        .related(table, id, nav)
        .filter((r) => !readable || readable(r))
        .sort(rowComparator([]))
        .slice(0, MAX_PAGE)
      return json(200, {
        '@odata.context': `${root}/$metadata#${target.def.entitySetName}`,
        value: rows.map((r) => org.serialize(target, r, select, prefs, ctx)),
      })
    }
    if (method === 'GET') {
      org.checkPrivilege(ctx, 'Read', def)
      checkReadAccess(org, ctx, table, row)
      const readable = readFilter(org, ctx, target.def)
      const rows =
        nav.kind === 'single'
          ? [navigatedId(def, nav, row)]
              .filter((x): x is string => x !== undefined)
              .map((x) => target.get(x))
              .filter((r): r is Row => !!r)
          : org.related(table, id, nav)
      return json(200, {
        '@odata.context': `${root}/$metadata#Collection($ref)`,
        value: rows
          .filter((r) => !readable || readable(r))
          .map((r) => ({ '@odata.id': `${root}/${target.def.entitySetName}(${target.id(r)})` })),
      })
    }
    if (method === 'POST' || method === 'PUT') {
      if (seg.key !== undefined) throw Fault.noResource(req.url.href)
      if (method === 'POST' && nav.kind !== 'collection')
        throw Fault.methodNotAllowed('Use PUT to set a single-valued navigation property.')
      if (method === 'PUT' && nav.kind !== 'single')
        throw Fault.methodNotAllowed('Use POST to add to a collection-valued navigation property.')
      const body = parseBody(req.body, def.logicalName)
      const odataId = body['@odata.id']
      if (typeof odataId !== 'string')
        throw Fault.badPayload(def.logicalName, 'The body must be {"@odata.id": "<entity URL>"}.')
      const other = org.resolveReference(ctx, odataId, nav.target)
      if (nav.kind === 'single') {
        checkAppend(org, ctx, def, other.table.def)
        const changes = lookupChanges(navColumn(def, nav), nav.target, other.table.id(other.row))
        org.touch(ctx, table, row, new Map(changes))
      } else org.associate(ctx, table, id, nav, other.table, other.row)
      return { status: 204, headers: {} }
    }
    if (method === 'DELETE') {
      if (nav.kind === 'single') {
        if (seg.key !== undefined) throw Fault.noResource(req.url.href)
        org.checkPrivilege(ctx, 'Append', def)
        const col = navColumn(def, nav)
        // a multi-table lookup pointing at another table's row is not this navigation's: nothing to remove
        const pointsAt = lookupTable(col, row)
        if (pointsAt === undefined || pointsAt === nav.target)
          org.touch(ctx, table, row, new Map(lookupChanges(col, nav.target, null)))
        return { status: 204, headers: {} }
      }
      let otherRow: Row
      if (seg.key !== undefined) {
        const found = org.findByKey(target, seg.key)
        if (!found.row) throw Fault.notFound(target.def.logicalName, seg.key)
        otherRow = found.row
      } else {
        const $id = req.url.searchParams.get('$id')
        if ($id === null) throw Fault.syntax('Specify the entity to disassociate with $id or in the URL.')
        otherRow = org.resolveReference(ctx, $id, nav.target).row
      }
      org.disassociate(ctx, table, id, nav, target, otherRow)
      return { status: 204, headers: {} }
    }
    throw Fault.noResource(req.url.href)
  }
  const col = def.byLookupValue.get(seg.name) ?? def.byName.get(seg.name)
  if (!col || seg.key !== undefined) throw Fault.segmentNotFound(rest[0] as string)
  if (col.type === 'file') return fileColumn(org, ctx, req, ref, col, rest.slice(1), root)
  if (rest.length > 1) {
    if (rest.length === 2 && rest[1] === '$value' && method === 'GET') {
      org.checkPrivilege(ctx, 'Read', def)
      const r = requireRow(ref)
      checkReadAccess(org, ctx, table, r)
      const v = output(col, r[col.index])
      if (v === null) return { status: 204, headers: {} }
      return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: String(v) }
    }
    throw Fault.segmentNotFound(rest[1] as string)
  }
  const row = requireRow(ref)
  if (method === 'GET') {
    org.checkPrivilege(ctx, 'Read', def)
    checkReadAccess(org, ctx, table, row)
    const v = output(col, row[col.index])
    if (v === null) return { status: 204, headers: {} }
    return json(200, {
      '@odata.context': `${root}/$metadata#${def.entitySetName}(${table.id(row)})/${propertyName(col)}`,
      value: v,
    })
  }
  if (method === 'PUT' || method === 'DELETE') {
    org.checkPrivilege(ctx, 'Write', def)
    if (col.name === def.primaryId || col.readOnly) {
      throw Fault.invalidArgument(`The property '${col.name}' cannot be set.`)
    }
    if (col.type === 'lookup' && method === 'PUT') {
      throw Fault.invalidArgument(
        `Set the lookup '${col.name}' with ${bindNames(col)}, or PUT its navigation property's $ref.`,
      )
    }
    let value: unknown = null
    if (method === 'PUT') {
      const body = parseBody(req.body, def.logicalName)
      if (!('value' in body))
        throw Fault.badPayload(def.logicalName, 'The body must be {"value": <new value>}.')
      value = coerce(def, col, body.value)
    }
    org.touch(ctx, table, row, new Map([[col.index, value]]))
    return { status: 204, headers: {} }
  }
  throw Fault.noResource(req.url.href)
}

/**
 * `POST {set}({id})/{collection-valued navigation}`: create a row already related to this one (OData 4.0 part 1,
 * 11.4.2 "Create an Entity", posted to a navigation property; in a batch `POST $1/contact_customer_accounts`).
 * Answers as `POST {set}` of the related table does.
 */
function createRelated(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  id: string,
  nav: NavigationDef,
  target: Table,
  root: string,
  prefs: Preferences,
): ApiResponse {
  const body = parseBody(req.body, target.def.logicalName)
  org.checkPrivilege(ctx, 'Create', target.def)
  let row: Row
  if (nav.manyToMany) {
    row = org.createRow(ctx, target, body)
    org.associate(ctx, table, id, nav, target, row)
  } else {
    checkAppend(org, ctx, target.def, table.def)
    row = org.createRow(
      ctx,
      target,
      body,
      relatedFixed(target.def, nav.column as string, table.def.logicalName, id),
    )
  }
  return written(org, ctx, req, target, row, root, prefs, 201, true)
}
