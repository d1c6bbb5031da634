// The store's record of deletions for change tracking (Use change tracking to synchronize data with external
// systems: deleted rows come back as $deletedEntity). Apart from changes.ts so the store can own one without a cycle.

/** A deleted row of a change-tracked table, stamped with the store version of its deletion. */
export interface Tombstone {
  id: string
  version: number
}

/** The per-org change log: tombstones of change-tracked tables, and the version before which no token is valid. */
export class ChangeLog {
  readonly tombstones = new Map<string, Tombstone[]>()
  /** Tokens older than this version were issued before the log was cleared (org reset): they are expired. */
  floor = 0

  recordDelete(table: string, id: string, version: number): void {
    let list = this.tombstones.get(table)
    if (!list) {
      list = []
      this.tombstones.set(table, list)
    }
    list.push({ id, version })
  }

  /** Drop tombstones stamped after `version` (a rolled-back change set). */
  rollback(version: number): void {
    for (const list of this.tombstones.values()) {
      while (list.length > 0 && (list[list.length - 1] as Tombstone).version > version) list.pop()
    }
  }

  clear(version: number): void {
    this.tombstones.clear()
    this.floor = version
  }
}
