import { createHash, randomUUID } from 'node:crypto'
import type { OrgInfo } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { parseApply, runApply } from './apply.ts'
import { bulkMessage, executeBulk } from './bulk.ts'
import { DataverseFault, Fault } from './errors.ts'
import { runFetchXml } from './fetchxml.ts'
import {
  BUILTIN_TABLES,
  type ColumnDef,
  defineTable,
  linkNavigations,
  type NavigationDef,
  type TableDef,
  type TableSeed,
} from './metadata.ts'
import { type FilterExpr, parseFilter } from './odata-filter.ts'
import {
  category,
  type ExpandItem,
  filterFor,
  type OrderBy,
  type Predicate,
  parseExpand,
  parseOrderBy,
  parseSelect,
  parseTop,
  rowComparator,
} from './query.ts'
import { Relationship, type Row, Store, type Table } from './store.ts'
import { coerce, edmType, GUID_RE, output, propertyName } from './values.ts'

/** Who a request runs as. */
export interface CallContext {
  /** Effective user (the impersonated user when impersonating). */
  userId: string
  /** The authenticated caller. */
  callerId: string
  onBehalfOf: boolean
  can(privilege: string): boolean
  /** `$batch` change set: Content-ID → entity path relative to the service root (`accounts(<id>)`). */
  contentIds?: Map<string, string>
}

export interface ApiRequest {
  method: string
  url: URL
  headers: Headers
  body: string | undefined
}

export interface ApiResponse {
  status: number
  headers: Record<string, string>
  body?: string
}

const MAX_PAGE = 5000
const VERSION_RE = /^v9\.[0-2]$/

/** Parsed `Prefer` request header(s). */
export interface Preferences {
  returnRepresentation: boolean
  maxPageSize?: number
  annotations?: string[]
  continueOnError: boolean
}

export function parsePrefer(headers: Headers): Preferences {
  const prefs: Preferences = { returnRepresentation: false, continueOnError: false }
  const raw = headers.get('prefer')
  if (!raw) return prefs
  // preferences are comma-separated, but a quoted value (an annotation list) may contain commas itself
  for (const part of raw.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const eq = part.indexOf('=')
    const k = (eq < 0 ? part : part.slice(0, eq)).trim()
    const v = eq < 0 ? undefined : part.slice(eq + 1).trim()
    const key = k.toLowerCase()
    if (key === 'return' && v === 'representation') prefs.returnRepresentation = true
    else if (key === 'odata.maxpagesize' && v && /^\d+$/.test(v)) prefs.maxPageSize = Number(v)
    else if (key === 'odata.include-annotations' && v) {
      prefs.annotations = v.replace(/^"|"$/g, '').split(/[ ,]+/).filter(Boolean)
    } else if (key === 'odata.continue-on-error') prefs.continueOnError = true
  }
  return prefs
}

function wantsAnnotation(prefs: Preferences, name: string): boolean {
  const list = prefs.annotations
  if (!list) return false
  return list.some((a) => a === '*' || a === name || (a.endsWith('.*') && name.startsWith(a.slice(0, -1))))
}

interface Segment {
  name: string
  /** Text inside the parentheses, if any. */
  key?: string
}

export interface EntityRef {
  table: Table
  row: Row | undefined
  /** The id or alternate key values from the URL (for upsert). */
  id?: string
  keyValues?: Map<string, unknown>
}

/** The JSON object of a request body, or a payload fault. */
function parseBody(body: string | undefined, logicalName: string): Record<string, unknown> {
  if (body === undefined || body.trim() === '') {
    throw Fault.badPayload(logicalName, 'The request body is empty; send a JSON object.')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw Fault.badPayload(logicalName, 'The request body is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw Fault.badPayload(logicalName, 'The request body must be a JSON object.')
  }
  return parsed as Record<string, unknown>
}

/** Split a URL path on '/' outside parentheses and quotes, decoding each segment. */
function splitPath(path: string): string[] {
  const raw: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < path.length; i++) {
    const c = path[i]
    if (c === "'") quoted = !quoted
    else if (!quoted && c === '(') depth++
    else if (!quoted && c === ')') depth--
    else if (!quoted && depth === 0 && c === '/') {
      raw.push(path.slice(start, i))
      start = i + 1
    }
  }
  raw.push(path.slice(start))
  return raw.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw Fault.syntax(`The URL segment '${s}' is not correctly percent-encoded.`)
    }
  })
}

function parseSegment(text: string): Segment {
  const m = /^([A-Za-z_$][A-Za-z0-9_.$]*)(?:\((.*)\))?$/s.exec(text)
  if (!m) throw Fault.segmentNotFound(text)
  return m[2] === undefined ? { name: m[1] as string } : { name: m[1] as string, key: m[2] }
}

/** Parse a key literal from a URL: 'quoted' (with '' escaping), a GUID, a number, true/false/null. */
function parseKeyLiteral(text: string): unknown {
  const t = text.trim()
  if (/^'.*'$/s.test(t)) {
    const inner = t.slice(1, -1)
    if (/(^|[^'])'(?!')/.test(inner.replaceAll("''", '')))
      throw Fault.syntax('Bad Request - Error in query syntax.')
    return inner.replaceAll("''", "'")
  }
  if (GUID_RE.test(t)) return t.toLowerCase()
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t)
  if (t === 'true' || t === 'false') return t === 'true'
  if (t === 'null') return null
  throw Fault.syntax('Bad Request - Error in query syntax.')
}

function splitKey(text: string): string[] {
  const out: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "'") quoted = !quoted
    else if (!quoted && c === ',') {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  out.push(text.slice(start))
  return out
}

/** One Dataverse organization's data, security model and Web API semantics (transport-independent, synchronous). */
export class OrgCore {
  readonly store = new Store()
  readonly defs = new Map<string, TableDef>()
  readonly rolePrivileges = new Map<string, Set<string>>()
  readonly userRoles: Relationship
  securityVersion = 0
  rootBusinessUnitId = ''
  systemUserId = ''
  /** Called when a business unit is created (gives it its copies of the roles). */
  onBusinessUnitCreated: ((id: string) => void) | undefined

  constructor(
    readonly org: OrgInfo,
    readonly world: World,
    tables: TableSeed[] = [],
  ) {
    const seeds = [...BUILTIN_TABLES]
    for (const t of tables) {
      if (seeds.some((s) => s.logicalName === t.logicalName)) {
        throw new Error(`Table '${t.logicalName}' is built in; declare a table with another logical name.`)
      }
      seeds.push(t)
    }
    for (const s of seeds) this.defs.set(s.logicalName, defineTable(s))
    linkNavigations(this.defs, seeds)
    for (const def of this.defs.values()) {
      for (const c of def.columns) {
        if (c.type === 'lookup' && c.target && !this.defs.has(c.target)) {
          throw new Error(`Lookup '${def.logicalName}.${c.name}' targets unknown table '${c.target}'.`)
        }
      }
      const table = this.store.addTable(def)
      if (def.logicalName === 'systemuser') {
        for (const col of ['applicationid', 'azureactivedirectoryobjectid']) {
          table.keyIndexes.push({ columns: [def.byName.get(col) as ColumnDef], index: new Map() })
        }
      }
    }
    this.userRoles = new Relationship('systemuserroles_association', 'systemuser', 'role')
    this.store.relationships.set(this.userRoles.name, this.userRoles)
  }

  table(logicalName: string): Table {
    return this.store.table(logicalName)
  }

  serviceRoot(request: URL, version: string): string {
    return `${this.org.url || request.origin}/api/data/${version}`
  }

  // ---------------------------------------------------------------- security

  privilegesOf(userId: string): Set<string> {
    const out = new Set<string>()
    for (const roleId of this.userRoles.related('systemuser', userId)) {
      for (const p of this.rolePrivileges.get(roleId) ?? []) out.add(p)
    }
    return out
  }

  /** The privileges a user holds, as RetrieveUserPrivileges answers them (organization depth = 'Global'). */
  userPrivileges(
    userId: string,
  ): { Depth: string; PrivilegeId: string; BusinessUnitId: string; PrivilegeName: string }[] {
    const held = this.privilegesOf(userId)
    const names = new Set<string>()
    if (held.has('*')) {
      for (const def of this.defs.values()) {
        for (const verb of ['Create', 'Read', 'Write', 'Delete', 'Append', 'AppendTo'])
          names.add(`prv${verb}${def.schemaName}`)
      }
      names.add('prvActOnBehalfOfAnotherUser')
    }
    for (const p of held) if (p !== '*') names.add(p)
    return [...names].sort().map((name) => ({
      Depth: 'Global',
      PrivilegeId: privilegeId(name),
      BusinessUnitId: this.rootBusinessUnitId,
      PrivilegeName: name,
    }))
  }

  // ---------------------------------------------------------------- rows

  /** Build and insert a row from a JSON body (no privilege checks); used by the seed and the admin API too. */
  createRow(
    ctx: CallContext | undefined,
    table: Table,
    body: Record<string, unknown>,
    fixed?: Map<string, unknown>,
  ): Row {
    const def = table.def
    const row: Row = new Array(def.columns.length + 1).fill(null)
    const now = nowSeconds()
    const pending = this.applyBody(ctx, table, body, row, true)
    if (fixed) {
      for (const [k, v] of fixed) {
        const col = def.byName.get(k)
        if (col) row[col.index] = v
      }
    }
    const idIndex = table.idIndex
    if (row[idIndex] === null) row[idIndex] = randomUUID()
    const userId = (ctx?.userId ?? this.systemUserId) || null
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
    if (def.logicalName === 'contact' || def.logicalName === 'systemuser') this.computeColumns(def, row)
    this.beforeCreate(table, row)
    row[sys.versionnumber] = this.store.nextVersion()
    this.store.insert(table, row)
    for (const p of pending) p(table.id(row))
    if (def.logicalName === 'businessunit' && this.rootBusinessUnitId !== '')
      this.onBusinessUnitCreated?.(table.id(row))
    return row
  }

  private computeColumns(def: TableDef, row: Row): void {
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
  private beforeCreate(table: Table, row: Row): void {
    const def = table.def
    const col = (n: string) => def.byName.get(n) as ColumnDef
    if (def.logicalName === 'systemuser') {
      const bu = col('businessunitid')
      if (row[bu.index] === null) row[bu.index] = this.rootBusinessUnitId
      const appId = row[col('applicationid').index]
      if (typeof appId === 'string') {
        // Creating an application user resolves the app's service principal in the org's tenant (Entra ID); without
        // consent there is none, and Dataverse refuses the user.
        const sp = this.world.getServicePrincipal(this.org.tenantId, appId)
        if (!sp) {
          throw Fault.invalidArgument(
            `The application with id ${appId} was not found in the directory of tenant ${this.org.tenantId}. Grant admin consent to the application in this tenant before creating its application user.`,
          )
        }
        if (table.getByKey(new Map([['applicationid', appId]]))) throw Fault.duplicateKey()
        const app = this.world.getApp(appId)
        row[col('azureactivedirectoryobjectid').index] = sp.objectId
        if (row[col('accessmode').index] === null) row[col('accessmode').index] = 4
        if (row[col('fullname').index] === null) row[col('fullname').index] = `# ${app?.displayName ?? appId}`
        if (row[col('domainname').index] === null) row[col('domainname').index] = `${appId}@emulator.local`
      }
      if (row[col('isdisabled').index] === null) row[col('isdisabled').index] = false
      if (row[col('accessmode').index] === null) row[col('accessmode').index] = 0
      this.securityVersion++
    } else if (def.logicalName === 'role') {
      const bu = col('businessunitid')
      if (row[bu.index] === null) row[bu.index] = this.rootBusinessUnitId
    } else if (def.logicalName === 'businessunit') {
      const parent = col('parentbusinessunitid')
      if (row[parent.index] === null && this.rootBusinessUnitId !== '')
        row[parent.index] = this.rootBusinessUnitId
    }
  }

  /**
   * Apply a JSON body to a row through `assign`. Returns deferred actions (collection binds, deep inserts) to run once
   * the row exists.
   */
  applyBody(
    ctx: CallContext | undefined,
    table: Table,
    body: Record<string, unknown>,
    target: Row | Map<number, unknown>,
    creating: boolean,
  ): ((id: string) => void)[] {
    const def = table.def
    const pending: ((id: string) => void)[] = []
    const assign = Array.isArray(target)
      ? (col: ColumnDef, value: unknown) => {
          target[col.index] = value
        }
      : (col: ColumnDef, value: unknown) => {
          target.set(col.index, value)
        }
    for (const [key, value] of Object.entries(body)) {
      if (key.startsWith('@')) continue
      const at = key.indexOf('@')
      if (at > 0) {
        const prop = key.slice(0, at)
        const annotation = key.slice(at + 1)
        if (annotation !== 'odata.bind') continue
        const nav = def.navigations.get(prop)
        if (!nav) throw Fault.invalidProperty(prop, def.logicalName)
        if (nav.kind === 'single') {
          const col = def.byName.get(nav.column as string) as ColumnDef
          if (value === null) {
            assign(col, null)
            continue
          }
          if (typeof value !== 'string')
            throw Fault.badPayload(def.logicalName, `'${key}' must be an entity URL.`)
          const target = this.resolveReference(ctx, value, nav.target)
          this.checkAppend(ctx, def, target.table.def)
          assign(col, target.table.id(target.row))
        } else {
          if (!Array.isArray(value))
            throw Fault.badPayload(def.logicalName, `'${key}' must be an array of entity URLs.`)
          const refs = value.map((v) => {
            if (typeof v !== 'string')
              throw Fault.badPayload(def.logicalName, `'${key}' must be an array of entity URLs.`)
            return this.resolveReference(ctx, v, nav.target)
          })
          pending.push((id) => {
            for (const ref of refs) this.associate(ctx, table, id, nav, ref.table, ref.row)
          })
        }
        continue
      }
      const nav = def.navigations.get(key)
      if (nav && (!def.byName.has(key) || (typeof value === 'object' && value !== null))) {
        // deep insert
        if (!creating)
          throw Fault.badPayload(def.logicalName, `Deep insert through '${key}' is only allowed on create.`)
        const target = this.table(nav.target)
        if (nav.kind === 'single') {
          if (value === null) continue
          if (typeof value !== 'object' || Array.isArray(value)) {
            throw Fault.badPayload(def.logicalName, `'${key}' must be an object to deep insert.`)
          }
          this.checkPrivilege(ctx, 'Create', target.def)
          const child = this.createRow(ctx, target, value as Record<string, unknown>)
          assign(def.byName.get(nav.column as string) as ColumnDef, target.id(child))
        } else {
          if (!Array.isArray(value))
            throw Fault.badPayload(def.logicalName, `'${key}' must be an array to deep insert.`)
          for (const v of value) {
            if (typeof v !== 'object' || v === null || Array.isArray(v)) {
              throw Fault.badPayload(def.logicalName, `'${key}' must be an array of objects to deep insert.`)
            }
          }
          this.checkPrivilege(ctx, 'Create', target.def)
          pending.push((id) => {
            for (const v of value as Record<string, unknown>[]) {
              if (nav.manyToMany) {
                const child = this.createRow(ctx, target, v)
                this.associate(ctx, table, id, nav, target, child)
              } else {
                this.createRow(ctx, target, v, new Map([[nav.column as string, id]]))
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
            `Set the lookup '${key}' with '${col.navigation}@odata.bind' and an entity URL; only null clears it directly.`,
          )
        }
        assign(col, null)
        continue
      }
      if (col.readOnly) continue
      if (col.name === def.primaryId && !creating) continue
      assign(col, coerce(def, col, value))
    }
    return pending
  }

  /** Resolve `/accounts(<id>)`, `accounts(key='x')`, an absolute URL, or a batch `$n` to an existing row. */
  resolveReference(
    ctx: CallContext | undefined,
    ref: string,
    expectedTable?: string,
  ): { table: Table; row: Row } {
    const found = this.locate(ctx, ref, expectedTable)
    if (!found.row) {
      throw found.id
        ? Fault.notFound(found.table.def.logicalName, found.id)
        : Fault.notFoundByKey(found.table.def.logicalName)
    }
    return { table: found.table, row: found.row }
  }

  /** Like {@link resolveReference}, but a row that does not exist yet is no fault (the `@odata.id` of an upsert). */
  locate(ctx: CallContext | undefined, ref: string, expectedTable?: string): EntityRef {
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
    const table = seg && this.store.bySet.get(seg.name)
    if (!seg || !table || seg.key === undefined)
      throw Fault.invalidArgument(`The entity reference '${ref}' is not valid.`)
    if (expectedTable && table.def.logicalName !== expectedTable) {
      throw Fault.invalidArgument(
        `The entity reference '${ref}' points at a ${table.def.logicalName}, but a ${expectedTable} is expected.`,
      )
    }
    return this.findByKey(table, seg.key)
  }

  /** Find a row by the text inside `set(...)`: a GUID, `primaryid=<guid>`, or alternate key values. */
  findByKey(table: Table, keyText: string): EntityRef {
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
      if (!col) throw this.badKey(def)
      const lit = parseKeyLiteral(p.slice(eq + 1))
      values.set(col.name, lit === null ? null : coerce(def, col, lit))
    }
    if (values.size === 1 && values.has(def.primaryId)) {
      const id = values.get(def.primaryId) as string
      if (def.logicalName === 'systemuser') throw this.badKey(def)
      return { table, row: table.get(id), id }
    }
    const names = [...values.keys()]
    if (!def.alternateKeys.some((k) => k.length === names.length && k.every((c) => names.includes(c)))) {
      throw this.badKey(def)
    }
    return { table, row: table.getByKey(values), keyValues: values }
  }

  private badKey(def: TableDef): DataverseFault {
    return new DataverseFault(
      400,
      '0x80060888',
      `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${def.logicalName}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.${def.logicalName}'.`,
    )
  }

  checkPrivilege(ctx: CallContext | undefined, verb: string, def: TableDef): void {
    if (!ctx) return
    const prv = `prv${verb}${def.schemaName}`
    if (!ctx.can(prv)) throw Fault.privilegeDenied(ctx.userId, prv, def.logicalName)
  }

  private checkAppend(ctx: CallContext | undefined, source: TableDef, target: TableDef): void {
    this.checkPrivilege(ctx, 'Append', source)
    this.checkPrivilege(ctx, 'AppendTo', target)
  }

  /** Adds or removes the pair in an N:N relationship, whichever side `table` is on. */
  private linkManyToMany(
    table: Table,
    id: string,
    relationship: string,
    other: Table,
    otherRow: Row,
    linked: boolean,
  ): void {
    const rel = this.store.relationships.get(relationship) as Relationship
    const otherId = other.id(otherRow)
    const [left, right] = table.def.logicalName === rel.left ? [id, otherId] : [otherId, id]
    if (linked) this.store.relate(rel, left, right)
    else this.store.unrelate(rel, left, right)
    if (rel === this.userRoles) this.securityVersion++
  }

  /** Associate `id` (on `table`) with `other` through a collection-valued navigation. */
  associate(
    ctx: CallContext | undefined,
    table: Table,
    id: string,
    nav: NavigationDef,
    other: Table,
    otherRow: Row,
  ): void {
    this.checkAppend(ctx, table.def, other.def)
    if (nav.manyToMany) {
      this.linkManyToMany(table, id, nav.manyToMany, other, otherRow, true)
      return
    }
    const col = other.def.byName.get(nav.column as string) as ColumnDef
    this.touch(ctx, other, otherRow, new Map([[col.index, id]]))
  }

  disassociate(
    ctx: CallContext | undefined,
    table: Table,
    id: string,
    nav: NavigationDef,
    other: Table,
    otherRow: Row,
  ): void {
    this.checkAppend(ctx, table.def, other.def)
    if (nav.manyToMany) {
      this.linkManyToMany(table, id, nav.manyToMany, other, otherRow, false)
      return
    }
    const col = other.def.byName.get(nav.column as string) as ColumnDef
    if (otherRow[col.index] !== id) return
    this.touch(ctx, other, otherRow, new Map([[col.index, null]]))
  }

  /** Update a row with audit columns and a new version. */
  touch(ctx: CallContext | undefined, table: Table, row: Row, changes: Map<number, unknown>): void {
    const def = table.def
    const col = (n: string) => def.byName.get(n) as ColumnDef
    changes.set(col('modifiedon').index, nowSeconds())
    changes.set(col('modifiedby').index, ctx?.userId ?? this.systemUserId)
    changes.set(col('modifiedonbehalfby').index, ctx?.onBehalfOf ? ctx.callerId : null)
    changes.set(col('versionnumber').index, this.store.nextVersion())
    if (def.logicalName === 'contact' || def.logicalName === 'systemuser') {
      const next = row.slice()
      for (const [i, v] of changes) next[i] = v
      this.computeColumns(def, next)
      const full = col('fullname').index
      if (next[full] !== row[full]) changes.set(full, next[full])
    }
    if (def.logicalName === 'systemuser') this.securityVersion++
    this.store.update(table, row, changes)
  }

  deleteRow(table: Table, row: Row): void {
    const id = table.id(row)
    const logical = table.def.logicalName
    for (const rel of this.store.relationships.values()) {
      if (rel.left !== logical && rel.right !== logical) continue
      for (const other of [...rel.related(logical, id)]) {
        if (rel.left === logical) this.store.unrelate(rel, id, other)
        else this.store.unrelate(rel, other, id)
      }
    }
    for (const t of this.store.tables.values()) {
      for (const c of t.def.columns) {
        if (c.type !== 'lookup' || c.target !== logical || t.def.systemColumns.has(c.name)) continue
        const refs = t.referencing(c.index, id)
        if (!refs) continue
        for (const r of [...refs]) this.store.update(t, r, new Map([[c.index, null]]))
      }
    }
    this.store.remove(table, row)
    if (logical === 'systemuser' || logical === 'role') this.securityVersion++
  }

  // ---------------------------------------------------------------- serialisation

  etag(table: Table, row: Row): string {
    return `W/"${row[(table.def.byName.get('versionnumber') as ColumnDef).index]}"`
  }

  serialize(
    table: Table,
    row: Row,
    select: ColumnDef[] | undefined,
    prefs: Preferences,
    ctx: CallContext | undefined,
    expand: ExpandItem[] = [],
    root = '',
  ): Record<string, unknown> {
    const def = table.def
    const out: Record<string, unknown> = { '@odata.etag': this.etag(table, row) }
    const cols = select ?? def.columns
    const withFormatted = wantsAnnotation(prefs, 'OData.Community.Display.V1.FormattedValue')
    const withLogical = wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.lookuplogicalname')
    const withNav = wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.associatednavigationproperty')
    for (const col of cols) {
      const v = row[col.index]
      const name = propertyName(col)
      if (col.type === 'lookup' && v !== null && v !== undefined) {
        if (withFormatted) {
          const target = this.store.tables.get(col.target as string)
          const targetRow = target?.get(v as string)
          if (target && targetRow) {
            const pn = target.def.byName.get(target.def.primaryName)
            if (pn) out[`${name}@OData.Community.Display.V1.FormattedValue`] = targetRow[pn.index]
          }
        }
        if (withNav) out[`${name}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = col.navigation
        if (withLogical) out[`${name}@Microsoft.Dynamics.CRM.lookuplogicalname`] = col.target
      } else if (
        withFormatted &&
        v !== null &&
        v !== undefined &&
        (col.type === 'boolean' || col.type === 'money')
      ) {
        out[`${name}@OData.Community.Display.V1.FormattedValue`] =
          col.type === 'boolean' ? (v ? 'Yes' : 'No') : `$${(v as number).toFixed(2)}`
      }
      out[name] = output(col, v)
    }
    if (select && !select.some((c) => c.name === def.primaryId)) out[def.primaryId] = table.id(row)
    for (const item of expand) out[item.nav.name] = this.expandValue(table, row, item, prefs, ctx, root)
    return out
  }

  private expandValue(
    table: Table,
    row: Row,
    item: ExpandItem,
    prefs: Preferences,
    ctx: CallContext | undefined,
    root: string,
  ): unknown {
    const target = this.table(item.nav.target)
    this.checkPrivilege(ctx, 'Read', target.def)
    const select = item.select === undefined ? undefined : parseSelect(target.def, item.select)
    if (item.nav.kind === 'single') {
      const id = row[(table.def.byName.get(item.nav.column as string) as ColumnDef).index]
      const r = typeof id === 'string' ? target.get(id) : undefined
      return r ? this.serialize(target, r, select, prefs, ctx) : null
    }
    let rows = this.related(table, table.id(row), item.nav)
    if (item.filter !== undefined) rows = rows.filter(filterFor(target.def, item.filter))
    const order = item.orderby === undefined ? [] : parseOrderBy(target.def, item.orderby)
    rows.sort(rowComparator(order))
    if (item.top !== undefined) rows = rows.slice(0, item.top)
    const limited = rows.slice(0, MAX_PAGE)
    const value = limited.map((r) => this.serialize(target, r, select, prefs, ctx))
    if (rows.length > MAX_PAGE) return value
    void root
    return value
  }

  /** Rows related to `id` through a collection-valued navigation. */
  related(table: Table, id: string, nav: NavigationDef): Row[] {
    const target = this.table(nav.target)
    if (nav.manyToMany) {
      const rel = this.store.relationships.get(nav.manyToMany) as Relationship
      return [...rel.related(table.def.logicalName, id)]
        .map((x) => target.get(x))
        .filter((r): r is Row => !!r)
    }
    const col = target.def.byName.get(nav.column as string) as ColumnDef
    return [...(target.referencing(col.index, id) ?? [])]
  }

  // ---------------------------------------------------------------- dispatch

  /** Run one request; a write that fails leaves no partial change behind. */
  execute(ctx: CallContext, req: ApiRequest): ApiResponse {
    if (req.method.toUpperCase() === 'GET') return this.dispatch(ctx, req)
    try {
      return this.store.atomically(() => {
        const response = this.dispatch(ctx, req)
        if (response.status >= 400) throw new Rollback(response)
        return response
      })
    } catch (e) {
      if (e instanceof Rollback) return e.response
      return faultResponse(e)
    }
  }

  errorResponse(e: unknown): ApiResponse {
    return faultResponse(e)
  }

  /** Handle one Web API request (also each part of a `$batch`). Never throws: faults become OData error responses. */
  dispatch(ctx: CallContext, req: ApiRequest): ApiResponse {
    try {
      return this.route(ctx, req)
    } catch (e) {
      return faultResponse(e)
    }
  }

  private route(ctx: CallContext, req: ApiRequest): ApiResponse {
    const m = /^\/api\/data\/([^/]+)(?:\/(.*))?$/s.exec(req.url.pathname)
    if (!m) throw Fault.noResource(req.url.href)
    const version = m[1] as string
    if (!VERSION_RE.test(version)) throw Fault.segmentNotFound(version)
    const root = this.serviceRoot(req.url, version)
    const rest = m[2] ?? ''
    const method = req.method.toUpperCase()
    if (rest === '') {
      if (method !== 'GET') throw Fault.noResource(req.url.href)
      return json(200, {
        '@odata.context': `${root}/$metadata`,
        value: [...this.store.tables.values()].map((t) => ({
          name: t.def.entitySetName,
          kind: 'EntitySet',
          url: t.def.entitySetName,
        })),
      })
    }
    const segments = splitPath(rest)
    const first = parseSegment(segments[0] as string)
    if (first.name === '$metadata' && segments.length === 1 && method === 'GET') {
      return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: this.metadataXml() }
    }
    if (
      (first.name === 'WhoAmI' || first.name === 'Microsoft.Dynamics.CRM.WhoAmI') &&
      segments.length === 1
    ) {
      if (method !== 'GET' || (first.key !== undefined && first.key.trim() !== ''))
        throw Fault.noResource(req.url.href)
      const users = this.table('systemuser')
      const user = users.get(ctx.userId)
      const bu = user ? user[(users.def.byName.get('businessunitid') as ColumnDef).index] : null
      return json(200, {
        '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: bu,
        UserId: ctx.userId,
        OrganizationId: this.org.id,
      })
    }
    if (
      (first.name === 'RetrieveTotalRecordCount' ||
        first.name === 'Microsoft.Dynamics.CRM.RetrieveTotalRecordCount') &&
      segments.length === 1
    ) {
      if (method !== 'GET') throw Fault.noResource(req.url.href)
      return this.totalRecordCount(ctx, req, first.key ?? '', root)
    }
    if (first.name === 'RetrieveVersion' && segments.length === 1 && method === 'GET') {
      return json(200, {
        '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse`,
        Version: '9.2.0.0',
      })
    }
    const table = this.store.bySet.get(first.name)
    if (!table) throw Fault.segmentNotFound(first.name)
    const prefs = parsePrefer(req.headers)
    if (first.key === undefined) {
      if (segments.length === 1) {
        if (method === 'GET') return this.query(ctx, req, table, root, prefs)
        if (method === 'POST') return this.create(ctx, req, table, root, prefs)
        throw Fault.methodNotAllowed(
          `The HTTP method '${method}' is not allowed on the entity set '${first.name}'.`,
        )
      }
      const bulk = segments.length === 2 ? bulkMessage(segments[1] as string) : undefined
      if (bulk) {
        if (method !== 'POST') throw Fault.noResource(req.url.href)
        return executeBulk(this, ctx, req, table, bulk, root)
      }
      if (segments.length === 2 && segments[1] === '$count' && method === 'GET') {
        this.checkPrivilege(ctx, 'Read', table.def)
        return {
          status: 200,
          headers: { 'Content-Type': 'text/plain' },
          body: String(Math.min(table.size, MAX_PAGE)),
        }
      }
      throw Fault.segmentNotFound(segments[1] as string)
    }
    const ref = this.findByKey(table, first.key)
    if (segments.length === 1) {
      if (method === 'GET') return this.retrieve(ctx, req, ref, root, prefs)
      if (method === 'PATCH') return this.upsert(ctx, req, ref, root, prefs)
      if (method === 'DELETE') return this.remove(ctx, req, ref)
      throw Fault.methodNotAllowed(
        `The HTTP method '${method}' is not allowed on a single ${table.def.logicalName}.`,
      )
    }
    return this.member(ctx, req, ref, segments.slice(1), root, prefs)
  }

  /** `RetrieveTotalRecordCount(EntityNames=["account"])` or `(EntityNames=@p1)?@p1=[...]` (Dataverse docs, "Count rows"). */
  private totalRecordCount(ctx: CallContext, req: ApiRequest, args: string, root: string): ApiResponse {
    const m = /^\s*EntityNames\s*=\s*(.+?)\s*$/s.exec(args)
    if (!m)
      throw Fault.syntax(
        'RetrieveTotalRecordCount needs the EntityNames parameter, e.g. (EntityNames=["account"]).',
      )
    let text = m[1] as string
    if (text.startsWith('@')) {
      const alias = req.url.searchParams.get(text)
      if (alias === null)
        throw Fault.syntax(`The parameter alias '${text}' has no value in the query string.`)
      text = alias
    }
    let names: unknown
    try {
      names = JSON.parse(text.replaceAll("'", '"'))
    } catch {
      throw Fault.syntax('EntityNames must be an array of table logical names, e.g. ["account","contact"].')
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw Fault.syntax('EntityNames must be an array of table logical names, e.g. ["account","contact"].')
    }
    const values = (names as string[]).map((n) => {
      const t = this.store.tables.get(n)
      if (!t) throw Fault.invalidArgument(`The table '${n}' does not exist.`)
      this.checkPrivilege(ctx, 'Read', t.def)
      return t.size
    })
    return json(200, {
      '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse`,
      EntityRecordCountCollection: { Count: names.length, IsReadOnly: false, Keys: names, Values: values },
    })
  }

  private requireRow(ref: EntityRef): Row {
    if (ref.row) return ref.row
    if (ref.id) throw Fault.notFound(ref.table.def.logicalName, ref.id)
    throw Fault.notFoundByKey(ref.table.def.logicalName)
  }

  private query(
    ctx: CallContext,
    req: ApiRequest,
    table: Table,
    root: string,
    prefs: Preferences,
  ): ApiResponse {
    this.checkPrivilege(ctx, 'Read', table.def)
    const params = req.url.searchParams
    const fetchXml = params.get('fetchXml')
    if (fetchXml !== null) return runFetchXml(this, ctx, table, fetchXml, root, prefs)
    for (const key of params.keys()) {
      if (key === '$skip') throw new DataverseFault(400, '0x0', 'The query parameter $skip is not supported')
      if (
        key.startsWith('$') &&
        !['$select', '$filter', '$orderby', '$top', '$count', '$expand', '$skiptoken', '$apply'].includes(key)
      ) {
        throw Fault.syntax(`The query parameter ${key} is not supported`)
      }
    }
    const def = table.def
    const applyText = params.get('$apply')
    if (applyText !== null) {
      if (params.has('$orderby'))
        throw Fault.syntax('The query node SingleValueOpenPropertyAccess is not supported.')
      const plan = parseApply(def, applyText)
      const extra = params.get('$filter')
      if (extra !== null) plan.filters.unshift(filterFor(def, extra))
      return json(200, {
        '@odata.context': `${root}/$metadata#${def.entitySetName}`,
        value: runApply(table.byId.values(), plan),
      })
    }
    const selectText = params.get('$select')
    const select = selectText === null ? undefined : parseSelect(def, selectText)
    const filterText = params.get('$filter')
    const predicate: Predicate | undefined = filterText === null ? undefined : filterFor(def, filterText)
    const indexed = filterText === null ? undefined : indexedCandidates(table, filterText)
    const orderText = params.get('$orderby')
    const order: OrderBy[] = orderText === null ? [] : parseOrderBy(def, orderText)
    const expandText = params.get('$expand')
    const expand = expandText === null ? [] : parseExpand(def, expandText)
    for (const e of expand) this.checkPrivilege(ctx, 'Read', this.table(e.nav.target).def)
    const topText = params.get('$top')
    const top = topText === null ? undefined : parseTop(topText)
    const countText = params.get('$count')
    if (countText !== null && countText !== 'true' && countText !== 'false') {
      throw Fault.syntax(`Invalid value '${countText}' for $count query option found.`)
    }
    const pageSize =
      prefs.maxPageSize !== undefined ? Math.max(1, Math.min(prefs.maxPageSize, MAX_PAGE)) : undefined
    // $top and odata.maxpagesize together: $top is ignored (Dataverse docs, "Page results").
    const limit = pageSize ?? (top !== undefined ? Math.min(top, MAX_PAGE) : MAX_PAGE)
    const cursor = decodeSkipToken(params.get('$skiptoken'))
    if (cursor && !cursorFits(cursor, order)) {
      throw Fault.syntax(
        'The $skiptoken does not belong to this query. Follow @odata.nextLink exactly as returned.',
      )
    }
    const { rows, more, total } = selectPage(
      table,
      predicate,
      order,
      limit,
      cursor,
      countText === 'true',
      indexed,
    )
    const body: Record<string, unknown> = {
      '@odata.context': `${root}/$metadata#${def.entitySetName}${selectText ? `(${selectText})` : ''}`,
    }
    if (total !== undefined) body['@odata.count'] = Math.min(total, MAX_PAGE)
    if (wantsAnnotation(prefs, 'Microsoft.Dynamics.CRM.totalrecordcount')) {
      body['@Microsoft.Dynamics.CRM.totalrecordcount'] = total === undefined ? -1 : Math.min(total, MAX_PAGE)
      body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = (total ?? 0) > MAX_PAGE
    }
    body.value = rows.map((r) => this.serialize(table, r, select, prefs, ctx, expand, root))
    const last = rows[rows.length - 1]
    if (more && last && (pageSize !== undefined || top === undefined)) {
      const kept = req.url.search
        .slice(1)
        .split('&')
        .filter((p) => p !== '' && !/^(\$|%24)skiptoken=/i.test(p))
      const token = encodeSkipToken(last, order, (cursor?.page ?? 1) + 1)
      kept.push(`$skiptoken=${encodeURIComponent(token)}`)
      body['@odata.nextLink'] = `${root}/${def.entitySetName}?${kept.join('&')}`
    }
    const applied: string[] = []
    if (pageSize !== undefined) applied.push(`odata.maxpagesize=${pageSize}`)
    if (prefs.annotations) applied.push(`odata.include-annotations="${prefs.annotations.join(',')}"`)
    return json(200, body, applied.length ? { 'Preference-Applied': applied.join(',') } : {})
  }

  private retrieve(
    ctx: CallContext,
    req: ApiRequest,
    ref: EntityRef,
    root: string,
    prefs: Preferences,
  ): ApiResponse {
    this.checkPrivilege(ctx, 'Read', ref.table.def)
    const row = this.requireRow(ref)
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
    const etag = this.etag(ref.table, row)
    const inm = req.headers.get('if-none-match')
    if (inm && inm !== 'null' && expand.length === 0 && !prefs.annotations && matchesEtag(inm, etag)) {
      return { status: 304, headers: { ETag: etag } }
    }
    const body = {
      '@odata.context': `${root}/$metadata#${def.entitySetName}${selectText ? `(${selectText})` : ''}/$entity`,
      ...this.serialize(ref.table, row, select, prefs, ctx, expand, root),
    }
    return json(200, body, { ETag: etag })
  }

  private create(
    ctx: CallContext,
    req: ApiRequest,
    table: Table,
    root: string,
    prefs: Preferences,
  ): ApiResponse {
    const body = parseBody(req.body, table.def.logicalName)
    const row = this.insert(ctx, table, body)
    return this.written(ctx, req, table, row, root, prefs, 201)
  }

  /** Create one row as the caller (the create privilege checked): `POST {set}` and each `CreateMultiple` target. */
  insert(ctx: CallContext, table: Table, body: Record<string, unknown>): Row {
    this.checkPrivilege(ctx, 'Create', table.def)
    return this.createRow(ctx, table, body)
  }

  private written(
    ctx: CallContext,
    req: ApiRequest,
    table: Table,
    row: Row,
    root: string,
    prefs: Preferences,
    status: 200 | 201,
  ): ApiResponse {
    const url = `${root}/${table.def.entitySetName}(${table.id(row)})`
    if (prefs.returnRepresentation) {
      const selectText = req.url.searchParams.get('$select')
      const select = selectText === null ? undefined : parseSelect(table.def, selectText)
      const body = {
        '@odata.context': `${root}/$metadata#${table.def.entitySetName}${selectText ? `(${selectText})` : ''}/$entity`,
        ...this.serialize(table, row, select, prefs, ctx),
      }
      return json(status, body, {
        'Preference-Applied': 'return=representation',
        ETag: this.etag(table, row),
        ...(status === 201 ? { Location: url } : {}),
      })
    }
    return { status: 204, headers: { 'OData-EntityId': url } }
  }

  private upsert(
    ctx: CallContext,
    req: ApiRequest,
    ref: EntityRef,
    root: string,
    prefs: Preferences,
  ): ApiResponse {
    const body = parseBody(req.body, ref.table.def.logicalName)
    const { row, created } = this.upsertRow(ctx, ref, body, {
      ifMatch: req.headers.get('if-match'),
      ifNoneMatch: req.headers.get('if-none-match'),
    })
    return this.written(ctx, req, ref.table, row, root, prefs, created ? 201 : 200)
  }

  /**
   * Update the row `ref` names, or create it with the id / alternate key values of `ref` when it does not exist;
   * `If-Match` / `If-None-Match` as on `PATCH {set}({key})`. Also each `UpdateMultiple` (`If-Match: *`) and
   * `UpsertMultiple` target.
   */
  upsertRow(
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
      if (ifMatch && !matchesEtag(ifMatch, this.etag(table, ref.row))) throw Fault.versionMismatch()
      this.checkPrivilege(ctx, 'Write', def)
      const row = ref.row
      const changes = new Map<number, unknown>()
      const pending = this.applyBody(ctx, table, body, changes, false)
      this.touch(ctx, table, row, changes)
      for (const p of pending) p(table.id(row))
      return { row, created: false }
    }
    if (ifMatch) throw ref.id ? Fault.notFound(def.logicalName, ref.id) : Fault.notFoundByKey(def.logicalName)
    this.checkPrivilege(ctx, 'Create', def)
    const fixed = new Map<string, unknown>(ref.keyValues ?? [])
    if (ref.id) fixed.set(def.primaryId, ref.id)
    return { row: this.createRow(ctx, table, body, fixed), created: true }
  }

  private remove(ctx: CallContext, req: ApiRequest, ref: EntityRef): ApiResponse {
    this.checkPrivilege(ctx, 'Delete', ref.table.def)
    const row = this.requireRow(ref)
    const ifMatch = req.headers.get('if-match')
    if (ifMatch && !matchesEtag(ifMatch, this.etag(ref.table, row))) throw Fault.versionMismatch()
    const def = ref.table.def
    if (def.logicalName === 'systemuser' && row[(def.byName.get('isdisabled') as ColumnDef).index] !== true) {
      throw Fault.invalidArgument(
        'Only disabled users can be deleted. Disable the user (isdisabled = true) first.',
      )
    }
    if (def.logicalName === 'businessunit' && ref.table.id(row) === this.rootBusinessUnitId) {
      throw Fault.invalidArgument('The root business unit cannot be deleted.')
    }
    this.deleteRow(ref.table, row)
    return { status: 204, headers: {} }
  }

  /** `/{set}({key})/{property|navigation}[/$ref | ({id})/$ref]`. */
  private member(
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
    if (
      def.logicalName === 'systemuser' &&
      rest.length === 1 &&
      /^(Microsoft\.Dynamics\.CRM\.)?RetrieveUserPrivileges$/.test(seg.name)
    ) {
      if (method !== 'GET' || (seg.key !== undefined && seg.key.trim() !== ''))
        throw Fault.noResource(req.url.href)
      this.checkPrivilege(ctx, 'Read', def)
      return json(200, {
        '@odata.context': `${root}/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse`,
        RolePrivileges: this.userPrivileges(table.id(this.requireRow(ref))),
      })
    }
    const nav = def.navigations.get(seg.name)
    if (nav) {
      const isRef = rest[1] === '$ref'
      if (rest.length > 2 || (rest.length === 2 && !isRef)) throw Fault.segmentNotFound(rest[1] as string)
      const row = this.requireRow(ref)
      const id = table.id(row)
      const target = this.table(nav.target)
      if (!isRef) {
        if (method !== 'GET' || seg.key !== undefined) throw Fault.noResource(req.url.href)
        this.checkPrivilege(ctx, 'Read', def)
        this.checkPrivilege(ctx, 'Read', target.def)
        const selectText = req.url.searchParams.get('$select')
        const select = selectText === null ? undefined : parseSelect(target.def, selectText)
        if (nav.kind === 'single') {
          const tid = row[(def.byName.get(nav.column as string) as ColumnDef).index]
          const tr = typeof tid === 'string' ? target.get(tid) : undefined
          if (!tr) return { status: 204, headers: {} }
          return json(200, {
            '@odata.context': `${root}/$metadata#${target.def.entitySetName}/$entity`,
            ...this.serialize(target, tr, select, prefs, ctx),
          })
        }
        const rows = this.related(table, id, nav).sort(rowComparator([])).slice(0, MAX_PAGE)
        return json(200, {
          '@odata.context': `${root}/$metadata#${target.def.entitySetName}`,
          value: rows.map((r) => this.serialize(target, r, select, prefs, ctx)),
        })
      }
      if (method === 'GET') {
        this.checkPrivilege(ctx, 'Read', def)
        const rows =
          nav.kind === 'single'
            ? [row[(def.byName.get(nav.column as string) as ColumnDef).index]]
                .filter((x): x is string => typeof x === 'string')
                .map((x) => target.get(x))
                .filter((r): r is Row => !!r)
            : this.related(table, id, nav)
        return json(200, {
          '@odata.context': `${root}/$metadata#Collection($ref)`,
          value: rows.map((r) => ({ '@odata.id': `${root}/${target.def.entitySetName}(${target.id(r)})` })),
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
        const other = this.resolveReference(ctx, odataId, nav.target)
        if (nav.kind === 'single') {
          this.checkAppend(ctx, def, other.table.def)
          this.touch(
            ctx,
            table,
            row,
            new Map([[(def.byName.get(nav.column as string) as ColumnDef).index, other.table.id(other.row)]]),
          )
        } else this.associate(ctx, table, id, nav, other.table, other.row)
        return { status: 204, headers: {} }
      }
      if (method === 'DELETE') {
        if (nav.kind === 'single') {
          if (seg.key !== undefined) throw Fault.noResource(req.url.href)
          this.checkPrivilege(ctx, 'Append', def)
          this.touch(
            ctx,
            table,
            row,
            new Map([[(def.byName.get(nav.column as string) as ColumnDef).index, null]]),
          )
          return { status: 204, headers: {} }
        }
        let otherRow: Row
        if (seg.key !== undefined) {
          const found = this.findByKey(target, seg.key)
          if (!found.row) throw Fault.notFound(target.def.logicalName, seg.key)
          otherRow = found.row
        } else {
          const $id = req.url.searchParams.get('$id')
          if ($id === null) throw Fault.syntax('Specify the entity to disassociate with $id or in the URL.')
          otherRow = this.resolveReference(ctx, $id, nav.target).row
        }
        this.disassociate(ctx, table, id, nav, target, otherRow)
        return { status: 204, headers: {} }
      }
      throw Fault.noResource(req.url.href)
    }
    const col = def.byLookupValue.get(seg.name) ?? def.byName.get(seg.name)
    if (!col || seg.key !== undefined) throw Fault.segmentNotFound(rest[0] as string)
    if (rest.length > 1) {
      if (rest.length === 2 && rest[1] === '$value' && method === 'GET') {
        this.checkPrivilege(ctx, 'Read', def)
        const v = output(col, this.requireRow(ref)[col.index])
        if (v === null) return { status: 204, headers: {} }
        return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: String(v) }
      }
      throw Fault.segmentNotFound(rest[1] as string)
    }
    const row = this.requireRow(ref)
    if (method === 'GET') {
      this.checkPrivilege(ctx, 'Read', def)
      const v = output(col, row[col.index])
      if (v === null) return { status: 204, headers: {} }
      return json(200, {
        '@odata.context': `${root}/$metadata#${def.entitySetName}(${table.id(row)})/${propertyName(col)}`,
        value: v,
      })
    }
    if (method === 'PUT' || method === 'DELETE') {
      this.checkPrivilege(ctx, 'Write', def)
      if (col.name === def.primaryId || col.readOnly) {
        throw Fault.invalidArgument(`The property '${col.name}' cannot be set.`)
      }
      if (col.type === 'lookup' && method === 'PUT') {
        throw Fault.invalidArgument(`Set the lookup '${col.name}' through '${col.navigation}/$ref'.`)
      }
      let value: unknown = null
      if (method === 'PUT') {
        const body = parseBody(req.body, def.logicalName)
        if (!('value' in body))
          throw Fault.badPayload(def.logicalName, 'The body must be {"value": <new value>}.')
        value = coerce(def, col, body.value)
      }
      this.touch(ctx, table, row, new Map([[col.index, value]]))
      return { status: 204, headers: {} }
    }
    throw Fault.noResource(req.url.href)
  }

  metadataXml(): string {
    const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')
    const types: string[] = []
    const sets: string[] = []
    for (const t of this.store.tables.values()) {
      const d = t.def
      const props = d.columns
        .map((c) => `<Property Name="${esc(propertyName(c))}" Type="${edmType(c)}"/>`)
        .join('')
      const navs = [...d.navigations.values()]
        .map((n) =>
          n.kind === 'single'
            ? `<NavigationProperty Name="${esc(n.name)}" Type="mscrm.${n.target}"/>`
            : `<NavigationProperty Name="${esc(n.name)}" Type="Collection(mscrm.${n.target})"/>`,
        )
        .join('')
      types.push(
        `<EntityType Name="${d.logicalName}"><Key><PropertyRef Name="${d.primaryId}"/></Key>${props}${navs}</EntityType>`,
      )
      sets.push(`<EntitySet Name="${d.entitySetName}" EntityType="mscrm.${d.logicalName}"/>`)
    }
    return `<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">${types.join('')}<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType><Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function><EntityContainer Name="System">${sets.join('')}<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`
  }
}

/** A stable GUID for a privilege name (Dataverse's are fixed per privilege too). */
function privilegeId(name: string): string {
  const h = createHash('sha1').update(`privilege:${name}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

class Rollback extends Error {
  constructor(readonly response: ApiResponse) {
    super('rolled back')
  }
}

/** Dataverse keeps date-times to the second; seconds since the epoch also fit V8's small integers. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal', ...headers },
    body: JSON.stringify(body),
  }
}

export function faultResponse(e: unknown): ApiResponse {
  if (e instanceof DataverseFault) {
    return json(e.status, { error: { code: e.code, message: e.message } }, e.headers)
  }
  return json(500, {
    error: { code: '0x80040216', message: 'An unexpected error occurred.' },
  })
}

function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const bare = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '')
  return header.split(',').some((h) => bare(h) === bare(etag))
}

// ------------------------------------------------------------------ paging

interface Cursor {
  page: number
  seq: number
  values: unknown[]
}

/**
 * The skiptoken has the shape of Dataverse's (`<cookie pagenumber="2" pagingcookie="..." istracking="False" />`);
 * its paging cookie carries the last row's sort values and position, so later pages stay correct while rows change.
 */
function encodeSkipToken(last: Row, order: OrderBy[], page: number): string {
  const state = Buffer.from(JSON.stringify([last[0], order.map((o) => last[o.col.index] ?? null)])).toString(
    'base64url',
  )
  return `<cookie pagenumber="${page}" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="${page - 1}" emulator="${state}" />`))}" istracking="False" />`
}

function decodeSkipToken(token: string | null): Cursor | undefined {
  if (token === null) return undefined
  const bad = () => Fault.syntax('The $skiptoken is not valid. Follow @odata.nextLink exactly as returned.')
  const m = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)"/.exec(token)
  if (!m) throw bad()
  try {
    const inner = decodeURIComponent(decodeURIComponent(m[2] as string))
    const s = /emulator="([A-Za-z0-9_-]*)"/.exec(inner)
    if (!s) throw bad()
    const parsed: unknown = JSON.parse(Buffer.from(s[1] as string, 'base64url').toString('utf8'))
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'number' || !Array.isArray(parsed[1])) throw bad()
    return { page: Number(m[1]), seq: parsed[0], values: parsed[1] as unknown[] }
  } catch {
    throw bad()
  }
}

/**
 * Rows that can satisfy a `$filter` whose top-level conjunction has `column eq literal` on the primary id, a
 * single-column key, or a lookup (`_x_value`): taken from an index instead of a scan. The full predicate still runs.
 */
function indexedCandidates(table: Table, text: string): Row[] | undefined {
  let expr: FilterExpr
  try {
    expr = parseFilter(text)
  } catch {
    return undefined
  }
  const def = table.def
  const conjuncts: FilterExpr[] = []
  const walk = (e: FilterExpr) => {
    if (e.kind === 'and') {
      walk(e.left)
      walk(e.right)
    } else conjuncts.push(e)
  }
  walk(expr)
  for (const c of conjuncts) {
    if (c.kind !== 'compare' || c.op !== 'eq') continue
    const [prop, lit] = c.left.kind === 'property' ? [c.left, c.right] : [c.right, c.left]
    if (prop.kind !== 'property' || lit.kind !== 'literal') continue
    const col = def.byLookupValue.get(prop.name) ?? def.byName.get(prop.name)
    const l = lit.literal
    if (!col || (l.type !== 'string' && l.type !== 'guid')) continue
    if (col.name === def.primaryId && l.type === 'guid') {
      const r = table.get(l.value)
      return r ? [r] : []
    }
    if (col.type === 'lookup' && l.type === 'guid') {
      return [...(table.referencing(col.index, l.value) ?? [])]
    }
    const key = table.keyIndexes.find((k) => k.columns.length === 1 && k.columns[0] === col)
    if (key) {
      const r = key.index.get(l.value.toLowerCase())
      return r ? [r] : []
    }
  }
  return undefined
}

/** A cursor's values must match the query's `$orderby` columns in number and type (a forged token must not crash). */
function cursorFits(cursor: Cursor, order: OrderBy[]): boolean {
  if (cursor.values.length !== order.length || !Number.isInteger(cursor.seq) || cursor.seq < -1) return false
  return order.every((o, i) => {
    const v = cursor.values[i]
    if (v === null) return true
    const cat = category(o.col.type)
    if (cat === 'string' || cat === 'guid') return typeof v === 'string'
    if (cat === 'boolean') return typeof v === 'boolean'
    return typeof v === 'number' && Number.isFinite(v)
  })
}

/** One page of rows in order, after `cursor`. Without `$orderby` this walks insertion order and stops early. */
function selectPage(
  table: Table,
  predicate: Predicate | undefined,
  order: OrderBy[],
  limit: number,
  cursor: Cursor | undefined,
  wantTotal: boolean,
  indexed?: Row[],
): { rows: Row[]; more: boolean; total?: number } {
  const out: Row[] = []
  let total: number | undefined
  const all: Iterable<Row> = indexed ?? table.byId.values()
  if (wantTotal) {
    total = 0
    if (!predicate) total = table.size
    else for (const r of all) if (predicate(r)) total++
  }
  if (order.length === 0) {
    const rows = indexed ? [...indexed].sort((a, b) => (a[0] as number) - (b[0] as number)) : table.rows
    let more = false
    const from = cursor ? cursor.seq + 1 : 0
    for (let i = indexed ? 0 : from; i < rows.length; i++) {
      const r = rows[i]
      if (!r || (indexed && (r[0] as number) < from) || (predicate && !predicate(r))) continue
      if (out.length === limit) {
        more = true
        break
      }
      out.push(r)
    }
    return total === undefined ? { rows: out, more } : { rows: out, more, total }
  }
  const cmp = rowComparator(order)
  let candidates: Row[] = []
  for (const r of indexed ?? table.byId.values()) if (!predicate || predicate(r)) candidates.push(r)
  if (cursor) {
    const probe: Row = []
    probe[0] = cursor.seq
    order.forEach((o, i) => {
      probe[o.col.index] = cursor.values[i]
    })
    candidates = candidates.filter((r) => cmp(r, probe) > 0)
  }
  candidates.sort(cmp)
  const rows = candidates.slice(0, limit)
  const more = candidates.length > limit
  return total === undefined ? { rows, more } : { rows, more, total }
}

export { encodeSkipToken, selectPage }
