import type { OptionSetSeed } from '../world/dataverse-seed.ts'
import type { OrgInfo } from '../world/types.ts'
import type { World } from '../world/world.ts'
import type { ColumnDef, NavigationDef, TableDef } from './metadata.ts'
import type { ExpandItem } from './query.ts'
import type { AccessDepth, ApiRequest, ApiResponse, CallContext, Preferences } from './request.ts'
import type { Relationship, Row, Store, Table } from './store.ts'

/** A row named by a URL key: the row when it exists, and what the URL said (for upsert). */
export interface EntityRef {
  table: Table
  row: Row | undefined
  /** The id or alternate key values from the URL (for upsert). */
  id?: string
  keyValues?: Map<string, unknown>
}

/**
 * One Dataverse organization as the request handlers, bulk messages and FetchXML see it: its state and the row
 * operations they share. `OrgCore` (org-core.ts) implements it; the modules beside it take it as their first argument,
 * so none of them imports another's implementation through the class.
 */
export interface OrgModel {
  readonly org: OrgInfo
  readonly world: World
  readonly store: Store
  readonly defs: Map<string, TableDef>
  readonly optionSets: Map<string, OptionSetSeed>
  readonly rolePrivileges: Map<string, Set<string>>
  readonly userRoles: Relationship
  securityVersion: number
  rootBusinessUnitId: string
  systemUserId: string
  /** Called when a business unit is created (gives it its copies of the roles). */
  onBusinessUnitCreated: ((id: string) => void) | undefined

  table(logicalName: string): Table
  serviceRoot(request: URL, version: string): string
  privilegesOf(userId: string): Map<string, AccessDepth>
  userPrivileges(
    userId: string,
  ): { Depth: string; PrivilegeId: string; BusinessUnitId: string; PrivilegeName: string }[]
  checkPrivilege(ctx: CallContext | undefined, verb: string, def: TableDef): void
  createRow(
    ctx: CallContext | undefined,
    table: Table,
    body: Record<string, unknown>,
    fixed?: Map<string, unknown>,
  ): Row
  applyBody(
    ctx: CallContext | undefined,
    table: Table,
    body: Record<string, unknown>,
    target: Row | Map<number, unknown>,
    creating: boolean,
  ): ((id: string) => void)[]
  insert(ctx: CallContext, table: Table, body: Record<string, unknown>): Row
  upsertRow(
    ctx: CallContext,
    ref: EntityRef,
    body: Record<string, unknown>,
    conditions: { ifMatch?: string | null; ifNoneMatch?: string | null },
  ): { row: Row; created: boolean }
  touch(ctx: CallContext | undefined, table: Table, row: Row, changes: Map<number, unknown>): void
  deleteRow(table: Table, row: Row): void
  resolveReference(
    ctx: CallContext | undefined,
    ref: string,
    expectedTable?: string,
  ): { table: Table; row: Row }
  locate(ctx: CallContext | undefined, ref: string, expectedTable?: string): EntityRef
  findByKey(table: Table, keyText: string): EntityRef
  associate(
    ctx: CallContext | undefined,
    table: Table,
    id: string,
    nav: NavigationDef,
    other: Table,
    otherRow: Row,
  ): void
  disassociate(
    ctx: CallContext | undefined,
    table: Table,
    id: string,
    nav: NavigationDef,
    other: Table,
    otherRow: Row,
  ): void
  related(table: Table, id: string, nav: NavigationDef): Row[]
  etag(table: Table, row: Row): string
  serialize(
    table: Table,
    row: Row,
    select: ColumnDef[] | undefined,
    prefs: Preferences,
    ctx: CallContext | undefined,
    expand?: ExpandItem[],
    root?: string,
  ): Record<string, unknown>
  metadataXml(): string
  /** Run one request; a write that fails leaves no partial change behind. */
  execute(ctx: CallContext, req: ApiRequest): ApiResponse
  errorResponse(e: unknown): ApiResponse
  /** Handle one Web API request (also each part of a `$batch`). Never throws: faults become OData error responses. */
  dispatch(ctx: CallContext, req: ApiRequest): ApiResponse
}
