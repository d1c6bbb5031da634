import type { OptionSetSeed, TableSeed } from '../world/dataverse-seed.ts'
import type { OrgInfo } from '../world/types.ts'
import type { World } from '../world/world.ts'
import { metadataXml } from './csdl.ts'
import {
  BUILTIN_OPTION_SETS,
  BUILTIN_TABLES,
  type ColumnDef,
  defineTable,
  linkNavigations,
  type NavigationDef,
  type TableDef,
} from './metadata.ts'
import type { EntityRef, OrgModel } from './org-model.ts'
import { checkPrivilege, privilegesOf, userPrivileges } from './privileges.ts'
import type { ExpandItem } from './query.ts'
import { findByKey, locate, resolveReference } from './references.ts'
import { associate, disassociate, related } from './relationships.ts'
import {
  type AccessDepth,
  type ApiRequest,
  type ApiResponse,
  type CallContext,
  faultResponse,
  type Preferences,
} from './request.ts'
import { route } from './router.ts'
import { applyBody, createRow, deleteRow, insert, touch, upsertRow } from './rows.ts'
import { etag, serialize } from './serialize.ts'
import { Relationship, type Row, Store, type Table } from './store.ts'

// The modules beside this one hold the behaviour, by responsibility: request.ts (request model, Prefer, JSON),
// router.ts and handle-*.ts (routing and the handlers), rows.ts (row lifecycle and per-table rules), references.ts
// (keys and entity references), relationships.ts, privileges.ts, serialize.ts and etag.ts, paging.ts, csdl.ts
// ($metadata). They take the org as an {@link OrgModel}; this class holds the state and binds them together.

/** One Dataverse organization's data, security model and Web API semantics (transport-independent, synchronous). */
export class OrgCore implements OrgModel {
  readonly store = new Store()
  readonly defs = new Map<string, TableDef>()
  /** Global choices by name (table definitions read them; columns copy their options). */
  readonly optionSets = new Map<string, OptionSetSeed>()
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
    optionSets: OptionSetSeed[] = [],
  ) {
    this.store.changes.now = () => world.clock.now()
    for (const o of [...BUILTIN_OPTION_SETS, ...optionSets]) this.optionSets.set(o.name, o)
    const seeds = [...BUILTIN_TABLES]
    for (const t of tables) {
      if (seeds.some((s) => s.logicalName === t.logicalName)) {
        throw new Error(`Table '${t.logicalName}' is built in; declare a table with another logical name.`)
      }
      seeds.push(t)
    }
    for (const s of seeds) this.defs.set(s.logicalName, defineTable(s, this.optionSets))
    linkNavigations(this.defs, seeds)
    for (const def of this.defs.values()) {
      for (const c of def.columns) {
        for (const t of c.targets ?? []) {
          if (!this.defs.has(t.table))
            throw new Error(`Lookup '${def.logicalName}.${c.name}' targets unknown table '${t.table}'.`)
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

  privilegesOf(userId: string): Map<string, AccessDepth> {
    return privilegesOf(this, userId)
  }

  /** The privileges a user holds, as RetrieveUserPrivileges answers them. */
  userPrivileges(
    userId: string,
  ): { Depth: string; PrivilegeId: string; BusinessUnitId: string; PrivilegeName: string }[] {
    return userPrivileges(this, userId)
  }

  checkPrivilege(ctx: CallContext | undefined, verb: string, def: TableDef): void {
    checkPrivilege(ctx, verb, def)
  }

  /** Build and insert a row from a JSON body (no privilege checks); used by the seed and the admin API too. */
  createRow(
    ctx: CallContext | undefined,
    table: Table,
    body: Record<string, unknown>,
    fixed?: Map<string, unknown>,
  ): Row {
    return createRow(this, ctx, table, body, fixed)
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
    return applyBody(this, ctx, table, body, target, creating)
  }

  /** Create one row as the caller (the create privilege checked): `POST {set}` and each `CreateMultiple` target. */
  insert(ctx: CallContext, table: Table, body: Record<string, unknown>): Row {
    return insert(this, ctx, table, body)
  }

  /** Update or create the row `ref` names (see {@link upsertRow} in rows.ts). */
  upsertRow(
    ctx: CallContext,
    ref: EntityRef,
    body: Record<string, unknown>,
    conditions: { ifMatch?: string | null; ifNoneMatch?: string | null },
  ): { row: Row; created: boolean } {
    return upsertRow(this, ctx, ref, body, conditions)
  }

  /** Update a row with audit columns and a new version. */
  touch(ctx: CallContext | undefined, table: Table, row: Row, changes: Map<number, unknown>): void {
    touch(this, ctx, table, row, changes)
  }

  deleteRow(table: Table, row: Row): void {
    deleteRow(this, table, row)
  }

  /** Resolve `/accounts(<id>)`, `accounts(key='x')`, an absolute URL, or a batch `$n` to an existing row. */
  resolveReference(
    ctx: CallContext | undefined,
    ref: string,
    expectedTable?: string,
  ): { table: Table; row: Row } {
    return resolveReference(this, ctx, ref, expectedTable)
  }

  /** Like {@link resolveReference}, but a row that does not exist yet is no fault (the `@odata.id` of an upsert). */
  locate(ctx: CallContext | undefined, ref: string, expectedTable?: string): EntityRef {
    return locate(this, ctx, ref, expectedTable)
  }

  /** Find a row by the text inside `set(...)`: a GUID, `primaryid=<guid>`, or alternate key values. */
  findByKey(table: Table, keyText: string): EntityRef {
    return findByKey(table, keyText)
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
    associate(this, ctx, table, id, nav, other, otherRow)
  }

  disassociate(
    ctx: CallContext | undefined,
    table: Table,
    id: string,
    nav: NavigationDef,
    other: Table,
    otherRow: Row,
  ): void {
    disassociate(this, ctx, table, id, nav, other, otherRow)
  }

  /** Rows related to `id` through a collection-valued navigation. */
  related(table: Table, id: string, nav: NavigationDef): Row[] {
    return related(this, table, id, nav)
  }

  etag(table: Table, row: Row): string {
    return etag(table, row)
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
    return serialize(this, table, row, select, prefs, ctx, expand, root)
  }

  metadataXml(): string {
    return metadataXml(this)
  }

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
      return route(this, ctx, req)
    } catch (e) {
      return faultResponse(e)
    }
  }
}

class Rollback extends Error {
  constructor(readonly response: ApiResponse) {
    super('rolled back')
  }
}
