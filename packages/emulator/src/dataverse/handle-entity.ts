import { Fault } from './errors.ts'
import { matchesEtag } from './etag.ts'
import type { ColumnDef } from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { type ExpandItem, parseExpand, parseSelect } from './query.ts'
import { checkReadAccess } from './record-access.ts'
import {
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  json,
  type Preferences,
  parseBody,
} from './request.ts'
import { requireRow } from './rows.ts'
import type { Row, Table } from './store.ts'

/**
 * The `@odata.context` of one row: `$metadata#accounts(name,…)/$entity`, naming expanded navigation properties in the
 * two forms Microsoft Learn shows. A retrieve (Retrieve a table row using the Web API, § Retrieve related tables by
 * expanding navigation properties) lists the selected columns, then each expanded property, then each with its own
 * selection: `accounts(name,primarycontactid,primarycontactid(contactid,fullname))/$entity`. A create with data
 * returned (Create a table row using the Web API, § Create with data returned) lists only the expanded properties
 * with their selection: `accounts(name,primarycontactid(fullname),Account_Tasks(subject))/$entity`.
 */
function entityContext(
  root: string,
  entitySet: string,
  selectText: string | null,
  expand: readonly ExpandItem[],
  form: 'retrieve' | 'create',
): string {
  const parts = selectText ? [selectText] : []
  if (form === 'retrieve') for (const e of expand) parts.push(e.nav.name)
  for (const e of expand) {
    if (e.select !== undefined) parts.push(`${e.nav.name}(${e.select})`)
    else if (form === 'create') parts.push(e.nav.name)
  }
  return `${root}/$metadata#${entitySet}${parts.length ? `(${parts.join(',')})` : ''}/$entity`
}

export function retrieve(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  root: string,
  prefs: Preferences,
): ApiResponse {
  org.checkPrivilege(ctx, 'Read', ref.table.def)
  const row = requireRow(ref)
  checkReadAccess(org, ctx, ref.table, row)
  const def = ref.table.def
  const params = req.url.searchParams
  for (const key of params.keys()) {
    if (key.startsWith('$') && key !== '$select' && key !== '$expand') {
      throw Fault.syntax(`The query parameter ${key} is not supported on a single record.`)
    }
  }
  const selectText = params.get('$select')
  const select = selectText === null ? undefined : parseSelect(def, selectText)
  const expandText = params.get('$expand')
  const expand = expandText === null ? [] : parseExpand(def, expandText)
  const etag = org.etag(ref.table, row)
  const inm = req.headers.get('if-none-match')
  if (inm && inm !== 'null' && expand.length === 0 && !prefs.annotations && matchesEtag(inm, etag)) {
    return { status: 304, headers: { ETag: etag } }
  }
  const body = {
    '@odata.context': entityContext(root, def.entitySetName, selectText, expand, 'retrieve'),
    ...org.serialize(ref.table, row, select, prefs, ctx, expand, root),
  }
  // A single-row GET echoes the annotations it applied, as collection GETs do ("Query data using the Web API",
  // § Formatted values: the response carries `Preference-Applied: odata.include-annotations="..."`).
  const headers: Record<string, string> = { ETag: etag }
  if (prefs.annotations)
    headers['Preference-Applied'] = `odata.include-annotations="${prefs.annotations.join(',')}"`
  return json(200, body, headers)
}

export function create(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  root: string,
  prefs: Preferences,
): ApiResponse {
  const body = parseBody(req.body, table.def.logicalName)
  const row = org.insert(ctx, table, body)
  return written(org, ctx, req, table, row, root, prefs, 201, true)
}

/**
 * The answer to a write: 204 with `OData-EntityId`, or with `Prefer: return=representation` the row, shaped by
 * `$select` and, for a create (`expandable`), `$expand`. Microsoft Learn: Create a table row using the Web API
 * (§ Create with data returned: "You may also use $expand to return related entities") and Update and delete table
 * rows using the Web API (§ Update with data returned: "The $expand query option will be ignored if used").
 */
export function written(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  row: Row,
  root: string,
  prefs: Preferences,
  status: 200 | 201,
  expandable = false,
  named?: string,
): ApiResponse {
  const url = `${root}/${named ?? `${table.def.entitySetName}(${table.id(row)})`}`
  // Microsoft Learn, Use elastic tables using code: writes to an elastic table answer `x-ms-session-token` (an opaque
  // value here; the emulator is always consistent, so a read's `MSCRM.SessionToken` changes nothing).
  const session: Record<string, string> = table.def.elastic
    ? { 'x-ms-session-token': `0:0#${org.etag(table, row).replace(/\D/g, '')}#7=-1` }
    : {}
  if (prefs.returnRepresentation) {
    const selectText = req.url.searchParams.get('$select')
    const select = selectText === null ? undefined : parseSelect(table.def, selectText)
    const expandText = expandable ? req.url.searchParams.get('$expand') : null
    const expand = expandText === null ? [] : parseExpand(table.def, expandText)
    const body = {
      '@odata.context': entityContext(root, table.def.entitySetName, selectText, expand, 'create'),
      ...org.serialize(table, row, select, prefs, ctx, expand, root),
    }
    return json(status, body, {
      'Preference-Applied': 'return=representation',
      ETag: org.etag(table, row),
      ...(status === 201 ? { Location: url } : {}),
      ...session,
    })
  }
  return { status: 204, headers: { 'OData-EntityId': url, ...session } }
}

export function upsert(
  org: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  ref: EntityRef,
  root: string,
  prefs: Preferences,
): ApiResponse {
  const body = parseBody(req.body, ref.table.def.logicalName)
  const { row, created } = org.upsertRow(ctx, ref, body, {
    ifMatch: req.headers.get('if-match'),
    ifNoneMatch: req.headers.get('if-none-match'),
  })
  // Microsoft Learn (Use Upsert to Create or Update a record): a row named by its alternate key is named the same way
  // in the answer's OData-EntityId (`example_records(example_key1=2,example_key2=2)`), not by its id.
  const named = ref.keyValues ? req.url.pathname.slice(req.url.pathname.lastIndexOf('/') + 1) : undefined
  return written(org, ctx, req, ref.table, row, root, prefs, created ? 201 : 200, false, named)
}

export function remove(org: OrgModel, ctx: CallContext, req: ApiRequest, ref: EntityRef): ApiResponse {
  org.checkPrivilege(ctx, 'Delete', ref.table.def)
  const row = requireRow(ref)
  const ifMatch = req.headers.get('if-match')
  if (ifMatch && !matchesEtag(ifMatch, org.etag(ref.table, row))) throw Fault.versionMismatch()
  const def = ref.table.def
  if (def.logicalName === 'systemuser' && row[(def.byName.get('isdisabled') as ColumnDef).index] !== true) {
    throw Fault.invalidArgument(
      'Only disabled users can be deleted. Disable the user (isdisabled = true) first.',
    )
  }
  if (def.logicalName === 'businessunit' && ref.table.id(row) === org.rootBusinessUnitId) {
    throw Fault.invalidArgument('The root business unit cannot be deleted.')
  }
  org.deleteRow(ref.table, row)
  return { status: 204, headers: {} }
}
