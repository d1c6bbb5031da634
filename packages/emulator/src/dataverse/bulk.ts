import { DataverseFault, Fault } from './errors.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { type ApiRequest, type ApiResponse, type CallContext, json } from './request.ts'
import { requireRow } from './rows.ts'
import type { Table } from './store.ts'
import { GUID_RE } from './values.ts'

// Dataverse's bulk operation messages, as Microsoft documents them ("Use bulk operation messages", the Web API
// reference of CreateMultiple / UpdateMultiple / UpsertMultiple, and the PowerApps-Samples WebAPI BulkOperations):
// - `POST {set}/Microsoft.Dynamics.CRM.CreateMultiple|UpdateMultiple|UpsertMultiple` with `{"Targets":[...]}`, every
//   target carrying `"@odata.type": "Microsoft.Dynamics.CRM.<logical name>"`; all targets are of the same table.
// - CreateMultiple answers 200 with `{"@odata.context": "...$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse",
//   "Ids": [...]}` (in target order); UpdateMultiple and UpsertMultiple answer 204 (the UpsertMultipleResponse
//   complex type is not returned).
// - UpdateMultiple targets carry their primary key; UpsertMultiple targets are identified by `@odata.id`
//   (`sample_examples(sample_keyattribute='1')`, an alternate key or the id), by their primary key, or by nothing
//   (then created with a new id).
// - On standard tables any error rolls the whole request back (elastic tables, not emulated, may partly succeed).
// - There is no fixed limit on the number of targets, only message size and time limits; 1,000 is the suggested
//   start. This emulator runs a request synchronously, so it refuses more than MAX_BULK_TARGETS (413).
// - For service protection a bulk request is one request; its execution time counts like any other's (limits.ts).
// - DeleteMultiple ("Use DeleteMultiple"): the same form, each target an entity reference (`@odata.type`, the
//   primary key and, on a partitioned table, `partitionid`), 204. Elastic tables only: a standard table answers
//   "DeleteMultiple has not yet been implemented."

export type BulkMessage = 'CreateMultiple' | 'UpdateMultiple' | 'UpsertMultiple' | 'DeleteMultiple'

/** The most targets one bulk request may carry here (an emulator limit, far above Dataverse's suggested 1,000). */
export const MAX_BULK_TARGETS = 10_000

const BULK_RE = /^Microsoft\.Dynamics\.CRM\.(CreateMultiple|UpdateMultiple|UpsertMultiple|DeleteMultiple)$/

/** The bulk message a path segment names (`Microsoft.Dynamics.CRM.CreateMultiple`), if any. */
export function bulkMessage(segment: string): BulkMessage | undefined {
  return BULK_RE.exec(segment)?.[1] as BulkMessage | undefined
}

function parseTargets(
  body: string | undefined,
  table: Table,
  message: BulkMessage,
): Record<string, unknown>[] {
  const logical = table.def.logicalName
  let parsed: unknown
  try {
    parsed = body === undefined || body.trim() === '' ? undefined : JSON.parse(body)
  } catch {
    throw Fault.badPayload(logical, `The ${message} request body is not valid JSON.`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw Fault.badPayload(logical, `Send ${message} a JSON object: {"Targets": [...]}.`)
  }
  for (const key of Object.keys(parsed)) {
    if (key !== 'Targets' && !key.startsWith('@'))
      throw Fault.badPayload(logical, `'${key}' is not a parameter of ${message}; it takes only 'Targets'.`)
  }
  const targets = (parsed as { Targets?: unknown }).Targets
  if (targets === undefined || targets === null)
    throw Fault.badPayload(
      logical,
      `The '${message}' action needs the 'Targets' parameter: an array of rows.`,
    )
  if (!Array.isArray(targets))
    throw Fault.badPayload(logical, `'Targets' of ${message} must be an array of ${logical} rows.`)
  if (targets.length === 0)
    throw Fault.badPayload(logical, `'Targets' of ${message} is empty; send at least one row.`)
  if (targets.length > MAX_BULK_TARGETS) {
    throw new DataverseFault(
      413,
      '0x80040203',
      `${message} received ${targets.length} targets; this emulator takes at most ${MAX_BULK_TARGETS} per request. Send fewer rows per request (Microsoft suggests starting at 1,000).`,
    )
  }
  const type = `Microsoft.Dynamics.CRM.${logical}`
  targets.forEach((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      throw Fault.badPayload(logical, `Targets[${i}] of ${message} must be a JSON object.`)
    const given = (t as Record<string, unknown>)['@odata.type']
    if (given === undefined)
      throw Fault.badPayload(
        logical,
        `Targets[${i}] of ${message} has no '@odata.type'; set it to '${type}'.`,
      )
    if (typeof given !== 'string' || given.replace(/^#/, '') !== type) {
      throw Fault.badPayload(
        logical,
        `Targets[${i}] of ${message} has '@odata.type' ${typeof given === 'string' ? JSON.stringify(given.slice(0, 100)) : `of type ${Array.isArray(given) ? 'array' : typeof given}`}, but ${table.def.entitySetName} holds '${type}'.`,
      )
    }
  })
  return targets as Record<string, unknown>[]
}

/** The row an update or upsert target names: its `@odata.id`, else its primary key, else none (upsert creates). */
function identify(
  core: OrgModel,
  ctx: CallContext,
  table: Table,
  target: Record<string, unknown>,
  index: number,
  message: BulkMessage,
): EntityRef {
  const def = table.def
  const odataId = target['@odata.id']
  const primary = target[def.primaryId]
  if (odataId !== undefined) {
    if (typeof odataId !== 'string')
      throw Fault.badPayload(def.logicalName, `Targets[${index}]['@odata.id'] must be an entity URL.`)
    const ref = core.locate(ctx, odataId, def.logicalName)
    if (
      primary !== undefined &&
      primary !== null &&
      String(primary).toLowerCase() !== (ref.row ? table.id(ref.row) : ref.id)
    ) {
      throw Fault.invalidArgument(
        `Targets[${index}] names two different rows: '@odata.id' ${odataId} and ${def.primaryId} ${String(primary)}.`,
      )
    }
    return ref
  }
  if (typeof primary === 'string' && GUID_RE.test(primary)) {
    const id = primary.toLowerCase()
    return { table, row: table.get(id), id }
  }
  if (primary !== undefined && primary !== null)
    throw Fault.badPayload(def.logicalName, `Targets[${index}].${def.primaryId} must be a GUID.`)
  if (message === 'UpdateMultiple' || message === 'DeleteMultiple') {
    throw Fault.badPayload(
      def.logicalName,
      `Targets[${index}] of ${message} names no row: give it '${def.primaryId}' or an '@odata.id' with an alternate key.`,
    )
  }
  return { table, row: undefined }
}

/**
 * `POST {set}/Microsoft.Dynamics.CRM.{Create|Update|Upsert}Multiple`: each target goes through the same create /
 * update / upsert as a single-record request (privileges, impersonation, audit columns, keys, validation). The
 * caller (`OrgCore.execute`) runs the request in one store transaction, so the first failing target rolls every
 * target back and its fault is the answer.
 */
export function executeBulk(
  core: OrgModel,
  ctx: CallContext,
  req: ApiRequest,
  table: Table,
  message: BulkMessage,
  root: string,
): ApiResponse {
  if (message === 'DeleteMultiple' && !table.def.elastic)
    throw Fault.invalidArgument('DeleteMultiple has not yet been implemented.')
  const targets = parseTargets(req.body, table, message)
  if (message === 'DeleteMultiple') {
    core.checkPrivilege(ctx, 'Delete', table.def)
    const partition = table.def.byName.get('partitionid')
    targets.forEach((t, i) => {
      const ref = identify(core, ctx, table, t, i, message)
      const row = requireRow(ref)
      // A partitioned row is named by its id and its partitionid together (Use elastic tables using code).
      if (partition && t.partitionid !== undefined && row[partition.index] !== t.partitionid)
        throw Fault.notFound(table.def.logicalName, table.id(row))
      core.deleteRow(table, row)
    })
    return { status: 204, headers: {} }
  }
  if (message === 'CreateMultiple') {
    const ids = targets.map((t) => table.id(core.insert(ctx, table, t)))
    return json(200, {
      '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`,
      Ids: ids,
    })
  }
  const conditions = message === 'UpdateMultiple' ? { ifMatch: '*' } : {}
  targets.forEach((t, i) => {
    core.upsertRow(ctx, identify(core, ctx, table, t, i, message), t, conditions)
  })
  return { status: 204, headers: {} }
}
