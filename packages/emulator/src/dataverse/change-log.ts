// The store's record of deletions for change tracking (Use change tracking to synchronize data with external
// systems: deleted rows come back as $deletedEntity). Apart from changes.ts so the store can own one without a cycle.

/** How long a delta token stays valid: Organization.ExpireSubscriptionsInDays, 90 by default. */
export const TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000

/** A deleted row of a change-tracked table, stamped with the store version and the time of its deletion. */
export interface Tombstone {
  id: string
  version: number
  /** Milliseconds since the epoch on the org's clock. */
  at: number
}

/** The per-org change log: tombstones of change-tracked tables, and the version before which no token is valid. */
export class ChangeLog {
  readonly tombstones = new Map<string, Tombstone[]>()
  /** Tokens older than this version were issued before the log was cleared (org reset): they are expired. */
  floor = 0
  /** The org's clock (the emulator's, which tests move forward); set by the org. */
  now: () => number = Date.now

  recordDelete(table: string, id: string, version: number): void {
    let list = this.tombstones.get(table)
    if (!list) {
      list = []
      this.tombstones.set(table, list)
    }
    const at = this.now()
    list.push({ id, version, at })
    // A tombstone older than a token's lifetime can only matter to a token issued before it, and such a token has
    // expired: dropping it keeps a long-running emulator's log from growing without bound.
    let stale = 0
    while (stale < list.length && (list[stale] as Tombstone).at < at - TOKEN_LIFETIME_MS) stale++
    if (stale > 0) list.splice(0, stale)
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
