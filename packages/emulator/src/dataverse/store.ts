import { ChangeLog } from './change-log.ts'
import { Fault } from './errors.ts'
import type { ColumnDef, TableDef } from './metadata.ts'

/**
 * A row is a flat array: index 0 holds the row's insertion sequence (its stable position, used for paging), then one
 * slot per column in `TableDef.columns` order. Flat arrays of primitives keep a million rows well under a gigabyte.
 */
export type Row = unknown[]

function keyPart(v: unknown): string {
  return typeof v === 'string' ? v.toLowerCase() : String(v)
}

function keyOf(values: unknown[]): string {
  if (values.length === 1) return keyPart(values[0])
  let out = keyPart(values[0])
  for (let i = 1; i < values.length; i++) out += `\u0000${keyPart(values[i])}`
  return out
}

/** One table: rows in insertion order, the primary key index, alternate-key indexes and lazy lookup indexes. */
export class Table {
  /** Rows by sequence number; deleted rows leave a hole. */
  readonly rows: (Row | undefined)[] = []
  readonly byId = new Map<string, Row>()
  readonly keyIndexes: { columns: ColumnDef[]; index: Map<string, Row> }[]
  private readonly lookupIndexes = new Map<number, Map<string, Set<Row>>>()
  readonly idIndex: number

  constructor(readonly def: TableDef) {
    this.idIndex = (def.byName.get(def.primaryId) as ColumnDef).index
    this.keyIndexes = def.alternateKeys.map((cols) => ({
      columns: cols.map((c) => def.byName.get(c) as ColumnDef),
      index: new Map(),
    }))
  }

  get size(): number {
    return this.byId.size
  }

  id(row: Row): string {
    return row[this.idIndex] as string
  }

  get(id: string): Row | undefined {
    return this.byId.get(id.toLowerCase())
  }

  /** Find by an alternate key given as column → stored value. */
  getByKey(values: Map<string, unknown>): Row | undefined {
    for (const k of this.keyIndexes) {
      if (k.columns.length !== values.size || !k.columns.every((c) => values.has(c.name))) continue
      return k.index.get(keyOf(k.columns.map((c) => values.get(c.name))))
    }
    return undefined
  }

  hasKey(names: string[]): boolean {
    return this.keyIndexes.some(
      (k) => k.columns.length === names.length && k.columns.every((c) => names.includes(c.name)),
    )
  }

  /** Rows whose lookup column (by index) points at `targetId`; the index is built on first use. */
  referencing(columnIndex: number, targetId: string): Set<Row> | undefined {
    let index = this.lookupIndexes.get(columnIndex)
    if (!index) {
      index = new Map()
      for (const row of this.byId.values()) addTo(index, row[columnIndex], row)
      this.lookupIndexes.set(columnIndex, index)
    }
    return index.get(targetId)
  }

  keyTuple(k: { columns: ColumnDef[] }, row: Row): string | undefined {
    const cols = k.columns
    if (cols.length === 1) {
      const v = row[(cols[0] as ColumnDef).index]
      return v === null || v === undefined ? undefined : keyPart(v)
    }
    const vals: unknown[] = []
    for (const c of cols) {
      const v = row[c.index]
      if (v === null || v === undefined) return undefined
      vals.push(v)
    }
    return keyOf(vals)
  }

  /** @internal insert without journaling; throws a duplicate fault when the id or an alternate key is taken. */
  link(row: Row): void {
    const id = this.id(row)
    if (this.byId.has(id)) throw Fault.duplicate()
    const indexes = this.keyIndexes
    const n = indexes.length
    let keys: (string | undefined)[] | undefined
    if (n > 0) {
      keys = new Array(n)
      for (let i = 0; i < n; i++) {
        const k = indexes[i] as (typeof indexes)[number]
        const t = this.keyTuple(k, row)
        if (t !== undefined && k.index.has(t)) throw Fault.duplicateKey()
        keys[i] = t
      }
    }
    this.byId.set(id, row)
    if (keys) {
      for (let i = 0; i < n; i++) {
        const t = keys[i]
        if (t !== undefined) (indexes[i] as (typeof indexes)[number]).index.set(t, row)
      }
    }
    if (this.lookupIndexes.size > 0) for (const [ci, index] of this.lookupIndexes) addTo(index, row[ci], row)
    this.rows[row[0] as number] = row
  }

  unlink(row: Row): void {
    this.byId.delete(this.id(row))
    for (const k of this.keyIndexes) {
      const t = this.keyTuple(k, row)
      if (t !== undefined && k.index.get(t) === row) k.index.delete(t)
    }
    for (const [ci, index] of this.lookupIndexes) removeFrom(index, row[ci], row)
    this.rows[row[0] as number] = undefined
  }

  /** Change column values in place, keeping indexes in step; returns the previous values. */
  assign(row: Row, changes: Map<number, unknown>): Map<number, unknown> {
    const before = new Map<number, unknown>()
    for (const ci of changes.keys()) before.set(ci, row[ci])
    const touched = this.keyIndexes.filter((k) => k.columns.some((c) => changes.has(c.index)))
    const oldKeys = touched.map((k) => this.keyTuple(k, row))
    const next = row.slice()
    for (const [ci, v] of changes) next[ci] = v
    touched.forEach((k, i) => {
      const t = this.keyTuple(k, next)
      const holder = t === undefined ? undefined : k.index.get(t)
      if (holder && holder !== row && t !== oldKeys[i]) throw Fault.duplicateKey()
    })
    touched.forEach((k, i) => {
      const o = oldKeys[i]
      if (o !== undefined && k.index.get(o) === row) k.index.delete(o)
    })
    for (const [ci, index] of this.lookupIndexes) {
      if (changes.has(ci)) removeFrom(index, row[ci], row)
    }
    for (const [ci, v] of changes) row[ci] = v
    for (const k of touched) {
      const t = this.keyTuple(k, row)
      if (t !== undefined) k.index.set(t, row)
    }
    for (const [ci, index] of this.lookupIndexes) {
      if (changes.has(ci)) addTo(index, row[ci], row)
    }
    return before
  }

  clear(): void {
    this.rows.length = 0
    this.byId.clear()
    for (const k of this.keyIndexes) k.index.clear()
    this.lookupIndexes.clear()
  }
}

function addTo(index: Map<string, Set<Row>>, key: unknown, row: Row): void {
  if (typeof key !== 'string') return
  let set = index.get(key)
  if (!set) {
    set = new Set()
    index.set(key, set)
  }
  set.add(row)
}

function removeFrom(index: Map<string, Set<Row>>, key: unknown, row: Row): void {
  if (typeof key !== 'string') return
  const set = index.get(key)
  set?.delete(row)
  if (set && set.size === 0) index.delete(key)
}

/** An N:N relationship stored as adjacency sets in both directions. */
export class Relationship {
  readonly forward = new Map<string, Set<string>>()
  readonly backward = new Map<string, Set<string>>()
  constructor(
    readonly name: string,
    readonly left: string,
    readonly right: string,
  ) {}

  has(leftId: string, rightId: string): boolean {
    return this.forward.get(leftId)?.has(rightId) ?? false
  }

  related(table: string, id: string): Set<string> {
    return (table === this.left ? this.forward.get(id) : this.backward.get(id)) ?? new Set()
  }

  add(leftId: string, rightId: string): void {
    addId(this.forward, leftId, rightId)
    addId(this.backward, rightId, leftId)
  }

  delete(leftId: string, rightId: string): void {
    this.forward.get(leftId)?.delete(rightId)
    this.backward.get(rightId)?.delete(leftId)
  }

  /** Remove every pair that involves `id` on `table`'s side; returns the removed pairs as [left, right]. */
  removeAll(table: string, id: string): [string, string][] {
    const removed: [string, string][] = []
    for (const other of [...this.related(table, id)]) {
      const pair: [string, string] = table === this.left ? [id, other] : [other, id]
      this.delete(pair[0], pair[1])
      removed.push(pair)
    }
    return removed
  }
}

function addId(map: Map<string, Set<string>>, a: string, b: string): void {
  let set = map.get(a)
  if (!set) {
    set = new Set()
    map.set(a, set)
  }
  set.add(b)
}

const UNDO_INSERT = 0
const UNDO_UPDATE = 1
const UNDO_REMOVE = 2
const UNDO_RELATE = 3
const UNDO_UNRELATE = 4

function undo(j: unknown[], i: number): void {
  const kind = j[i]
  if (kind === UNDO_INSERT) (j[i + 1] as Table).unlink(j[i + 2] as Row)
  else if (kind === UNDO_UPDATE) (j[i + 1] as Table).assign(j[i + 2] as Row, j[i + 3] as Map<number, unknown>)
  else if (kind === UNDO_REMOVE) (j[i + 1] as Table).link(j[i + 2] as Row)
  else if (kind === UNDO_RELATE) (j[i + 1] as Relationship).delete(j[i + 2] as string, j[i + 3] as string)
  else (j[i + 1] as Relationship).add(j[i + 2] as string, j[i + 3] as string)
}

/**
 * All tables of one org, with an undo journal: while a change set runs, every mutation records how to undo itself,
 * so a failed change set leaves no trace. Everything is synchronous, so a change set is never interleaved.
 */
export class Store {
  readonly tables = new Map<string, Table>()
  readonly bySet = new Map<string, Table>()
  readonly relationships = new Map<string, Relationship>()
  /** Undo records, flat: [kind, a, b, c, kind, a, b, c, ...]. */
  private journal: unknown[] | null = null
  private nextSeq = new Map<string, number>()
  /** Monotonic row version, shared by all tables like Dataverse's rowversion. */
  version = 1_000_000
  /** Deletions of change-tracked tables (see changes.ts). */
  readonly changes = new ChangeLog()

  addTable(def: TableDef): Table {
    const t = new Table(def)
    this.tables.set(def.logicalName, t)
    this.bySet.set(def.entitySetName, t)
    this.nextSeq.set(def.logicalName, 0)
    return t
  }

  table(logicalName: string): Table {
    const t = this.tables.get(logicalName)
    if (!t) throw Fault.segmentNotFound(logicalName)
    return t
  }

  nextVersion(): number {
    this.version += 1
    return this.version
  }

  insert(table: Table, row: Row): void {
    const seq = this.nextSeq.get(table.def.logicalName) ?? 0
    row[0] = seq
    table.link(row)
    this.nextSeq.set(table.def.logicalName, seq + 1)
    this.journal?.push(UNDO_INSERT, table, row, null)
  }

  update(table: Table, row: Row, changes: Map<number, unknown>): void {
    const before = table.assign(row, changes)
    this.journal?.push(UNDO_UPDATE, table, row, before)
  }

  remove(table: Table, row: Row): void {
    table.unlink(row)
    if (table.def.changeTracking)
      this.changes.recordDelete(table.def.logicalName, table.id(row), this.nextVersion())
    this.journal?.push(UNDO_REMOVE, table, row, null)
  }

  relate(rel: Relationship, leftId: string, rightId: string): void {
    if (rel.has(leftId, rightId)) return
    rel.add(leftId, rightId)
    this.journal?.push(UNDO_RELATE, rel, leftId, rightId)
  }

  unrelate(rel: Relationship, leftId: string, rightId: string): void {
    if (!rel.has(leftId, rightId)) return
    rel.delete(leftId, rightId)
    this.journal?.push(UNDO_UNRELATE, rel, leftId, rightId)
  }

  /** Run `fn` atomically: if it throws, every mutation it made is undone and the error rethrown. */
  atomically<T>(fn: () => T): T {
    if (this.journal) return fn()
    const journal: unknown[] = []
    this.journal = journal
    const version = this.version
    try {
      return fn()
    } catch (e) {
      for (let i = journal.length - 4; i >= 0; i -= 4) undo(journal, i)
      this.version = version
      this.changes.rollback(version)
      throw e
    } finally {
      this.journal = null
    }
  }

  clear(): void {
    for (const t of this.tables.values()) t.clear()
    this.changes.clear(this.version)
    for (const k of this.nextSeq.keys()) this.nextSeq.set(k, 0)
    for (const r of this.relationships.values()) {
      r.forward.clear()
      r.backward.clear()
    }
  }
}
