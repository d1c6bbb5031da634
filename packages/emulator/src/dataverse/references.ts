import { DataverseFault, Fault } from './errors.ts'
import type { TableDef } from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { parseKeyLiteral, parseSegment, splitKey, splitPath } from './paths.ts'
import type { CallContext } from './request.ts'
import type { Row, Table } from './store.ts'
import { coerce, GUID_RE } from './values.ts'

// Rows named by URL keys and entity references (`accounts(<id>)`, alternate keys, `$<Content-ID>`).

/** Resolve `/accounts(<id>)`, `accounts(key='x')`, an absolute URL, or a batch `$n` to an existing row. */
export function resolveReference(
  org: OrgModel,
  ctx: CallContext | undefined,
  ref: string,
  expectedTable?: string,
): { table: Table; row: Row } {
  const found = org.locate(ctx, ref, expectedTable)
  if (!found.row) {
    throw found.id
      ? Fault.notFound(found.table.def.logicalName, found.id)
      : Fault.notFoundByKey(found.table.def.logicalName)
  }
  return { table: found.table, row: found.row }
}

/** Like {@link resolveReference}, but a row that does not exist yet is no fault (the `@odata.id` of an upsert). */
export function locate(
  org: OrgModel,
  ctx: CallContext | undefined,
  ref: string,
  expectedTable?: string,
): EntityRef {
  let path = ref.trim()
  const cid = /^\$([A-Za-z0-9_-]+)$/.exec(path)
  if (cid) {
    const mapped = ctx?.contentIds?.get(cid[1] as string)
    if (!mapped) throw Fault.syntax(`Content-ID Reference: '${path}' does not exist in the batch context.`)
    path = mapped
  }
  const m = /\/api\/data\/v9\.[0-2]\/(.*)$/.exec(path)
  if (m) path = m[1] as string
  path = path.replace(/^\//, '')
  const parts = splitPath(path.split('?')[0] as string)
  const seg = parts.length === 1 ? parseSegment(parts[0] as string) : undefined
  const table = seg && org.store.bySet.get(seg.name)
  if (!seg || !table || seg.key === undefined)
    throw Fault.invalidArgument(`The entity reference '${ref}' is not valid.`)
  if (expectedTable && table.def.logicalName !== expectedTable) {
    throw Fault.invalidArgument(
      `The entity reference '${ref}' points at a ${table.def.logicalName}, but a ${expectedTable} is expected.`,
    )
  }
  return org.findByKey(table, seg.key)
}

/** Find a row by the text inside `set(...)`: a GUID, `primaryid=<guid>`, or alternate key values. */
export function findByKey(table: Table, keyText: string): EntityRef {
  const def = table.def
  const text = keyText.trim()
  if (GUID_RE.test(text)) {
    const id = text.toLowerCase()
    return { table, row: table.get(id), id }
  }
  const parts = splitKey(text)
  const values = new Map<string, unknown>()
  for (const p of parts) {
    const eq = p.indexOf('=')
    if (eq <= 0) throw Fault.syntax('Bad Request - Error in query syntax.')
    const name = p.slice(0, eq).trim()
    const col = def.byLookupValue.get(name) ?? def.byName.get(name)
    if (!col) throw badKey(def)
    const lit = parseKeyLiteral(p.slice(eq + 1))
    values.set(col.name, lit === null ? null : coerce(def, col, lit))
  }
  if (values.size === 1 && values.has(def.primaryId)) {
    const id = values.get(def.primaryId) as string
    if (def.logicalName === 'systemuser') throw badKey(def)
    return { table, row: table.get(id), id }
  }
  const names = [...values.keys()]
  if (!def.alternateKeys.some((k) => k.length === names.length && k.every((c) => names.includes(c)))) {
    throw badKey(def)
  }
  return { table, row: table.getByKey(values), keyValues: values }
}

function badKey(def: TableDef): DataverseFault {
  return new DataverseFault(
    400,
    '0x80060888',
    `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${def.logicalName}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.${def.logicalName}'.`,
  )
}
