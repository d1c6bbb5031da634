import type { OrgCore } from './org-core.ts'
import type { Row } from './store.ts'

interface OrgSnapshot {
  version: 1
  rootBusinessUnitId: string
  systemUserId: string
  storeVersion: number
  /** Per table: column names, then rows as value arrays in insertion order. */
  tables: Record<string, { columns: string[]; rows: unknown[][] }>
  relationships: Record<string, [string, string][]>
  rolePrivileges: Record<string, string[]>
  /**
   * Change tracking (changes.ts): tombstones per table as [id, version, time of deletion] (older snapshots have no
   * time: the restore's), and the oldest valid token version.
   */
  changes?: { floor: number; tombstones: Record<string, [string, number, number?][]> }
}

/** The org's data as JSON (compact: one array per row). */
export function takeSnapshot(core: OrgCore): OrgSnapshot {
  const tables: OrgSnapshot['tables'] = {}
  for (const [name, t] of core.store.tables) {
    const rows: unknown[][] = []
    for (const r of t.rows) if (r) rows.push(r.slice(1))
    // the type slots of multi-table lookups (`parentcustomeridtype`) follow the columns, as in a row
    tables[name] = { columns: [...t.def.columns.map((c) => c.name), ...t.def.typeSlots.keys()], rows }
  }
  const relationships: OrgSnapshot['relationships'] = {}
  for (const [name, rel] of core.store.relationships) {
    const pairs: [string, string][] = []
    for (const [l, rs] of rel.forward) for (const r of rs) pairs.push([l, r])
    relationships[name] = pairs
  }
  return {
    version: 1,
    rootBusinessUnitId: core.rootBusinessUnitId,
    systemUserId: core.systemUserId,
    storeVersion: core.store.version,
    tables,
    relationships,
    rolePrivileges: Object.fromEntries([...core.rolePrivileges].map(([k, v]) => [k, [...v]])),
    changes: {
      floor: core.store.changes.floor,
      tombstones: Object.fromEntries(
        [...core.store.changes.tombstones].map(([k, list]) => [k, list.map((t) => [t.id, t.version, t.at])]),
      ),
    },
  }
}

/** Load a snapshot into a freshly built (empty) core; columns are matched by name so added columns stay null. */
export function restoreSnapshot(core: OrgCore, value: unknown): void {
  const snap = value as OrgSnapshot
  if (snap?.version !== 1 || typeof snap.tables !== 'object') throw new Error('unknown snapshot format')
  core.rootBusinessUnitId = snap.rootBusinessUnitId
  core.systemUserId = snap.systemUserId
  for (const [name, data] of Object.entries(snap.tables)) {
    const table = core.store.tables.get(name)
    if (!table) throw new Error(`the snapshot has a table '${name}' that the org does not declare`)
    const def = table.def
    const map = data.columns.map((c) => def.byName.get(c)?.index ?? def.typeSlots.get(c))
    for (const values of data.rows) {
      const row: Row = new Array(def.width).fill(null)
      values.forEach((v, i) => {
        const idx = map[i]
        if (idx !== undefined) row[idx] = v
      })
      core.store.insert(table, row)
    }
  }
  for (const [name, pairs] of Object.entries(snap.relationships ?? {})) {
    const rel = core.store.relationships.get(name)
    if (!rel) continue
    for (const [l, r] of pairs) rel.add(l, r)
  }
  for (const [k, v] of Object.entries(snap.rolePrivileges ?? {})) core.rolePrivileges.set(k, new Set(v))
  core.store.version = snap.storeVersion
  if (snap.changes) {
    core.store.changes.floor = snap.changes.floor
    for (const [k, list] of Object.entries(snap.changes.tombstones))
      core.store.changes.tombstones.set(
        k,
        list.map(([id, version, at]) => ({ id, version, at: at ?? core.world.clock.now() })),
      )
  } else core.store.changes.floor = snap.storeVersion // tokens from before the snapshot format knew changes
  core.securityVersion++
}
