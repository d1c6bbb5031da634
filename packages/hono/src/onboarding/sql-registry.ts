import type {
  SqlExecutor,
  TenantActor,
  TenantEvent,
  TenantEventAction,
  TenantRecord,
  TenantRegistry,
} from './types.ts'

/** Options of {@link createSqlTenantRegistry}. */
export interface SqlTenantRegistryOptions {
  /**
   * How long a read of one tenant is served from this process's cache (default 5,000 ms; 0 turns it off). Writes
   * through this registry refresh it at once; it bounds how late another instance's write is seen here.
   */
  cacheTtlMs?: number
  /** Closes the database when the registry closes (e.g. `() => pglite.close()` or `() => pool.end()`). */
  close?: () => Promise<void>
  now?: () => number
}

interface Row {
  tenant_id: string
  org_url: string
  status: TenantRecord['status']
  onboarded_by: string | null
  onboarded_by_name: string | null
  consented_at: Date
  provisioned_at: Date | null
  verified_at: Date | null
  offboarded_at: Date | null
  last_check_at: Date | null
  last_check_ok: boolean | null
  last_check_detail: string | null
  created_at: Date
  updated_at: Date
}

interface EventRow {
  id: number | string
  tenant_id: string
  at: Date
  action: TenantEventAction
  from_status: TenantRecord['status'] | null
  to_status: TenantRecord['status']
  actor_oid: string | null
  actor_name: string | null
  detail: string | null
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const toRecord = (r: Row): TenantRecord => ({
  tenantId: r.tenant_id,
  orgUrl: r.org_url,
  status: r.status,
  onboardedBy: r.onboarded_by,
  onboardedByName: r.onboarded_by_name,
  consentedAt: r.consented_at,
  provisionedAt: r.provisioned_at,
  verifiedAt: r.verified_at,
  offboardedAt: r.offboarded_at,
  lastCheckAt: r.last_check_at,
  lastCheckOk: r.last_check_ok,
  lastCheckDetail: r.last_check_detail,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const toEvent = (r: EventRow): TenantEvent => ({
  id: Number(r.id),
  tenantId: r.tenant_id,
  at: r.at,
  action: r.action,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  actorObjectId: r.actor_oid,
  actorName: r.actor_name,
  detail: r.detail,
})

// $1 tenant, $2 action, $3 actor oid, $4 actor name, $5 detail; the change's own values from $6.
const EVENT = `INSERT INTO dvs2s_tenant_events (tenant_id, action, from_status, to_status, actor_oid, actor_name, detail)
  SELECT t.tenant_id, $2::text, t.prev_status, t.status, $3::uuid, $4::text, $5::text FROM t`

/**
 * Builds one statement that changes a tenant only when `guard` holds on its current row (locked), and appends the
 * event in the same statement: atomic on any PostgreSQL client, with no transaction to hold across calls.
 */
function changeSql(guard: string, set: string, eventWhen = 'true'): string {
  return `WITH prev AS (
      SELECT tenant_id, status FROM dvs2s_tenants WHERE tenant_id = $1::uuid AND (${guard}) FOR UPDATE
    ), t AS (
      UPDATE dvs2s_tenants AS x SET ${set}, updated_at = now() FROM prev
      WHERE x.tenant_id = prev.tenant_id RETURNING x.*, prev.status AS prev_status
    ), e AS (${EVENT} WHERE ${eventWhen})
    SELECT * FROM t`
}

/**
 * A {@link TenantRegistry} on PostgreSQL through any {@link SqlExecutor} (PGlite, node-postgres, …). Run
 * {@link migrateTenantRegistry} first. Every change and its event are one statement, guarded by the tenant's current
 * status, so concurrent requests and instances cannot both apply conflicting changes.
 * @example
 * import { PGlite } from '@electric-sql/pglite'
 * const pglite = new PGlite('./data/registry')
 * await migrateTenantRegistry(pglite)
 * const registry = createSqlTenantRegistry(pglite, { close: () => pglite.close() })
 */
export function createSqlTenantRegistry(
  db: SqlExecutor,
  options: SqlTenantRegistryOptions = {},
): TenantRegistry {
  const ttl = options.cacheTtlMs ?? 5_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { value: TenantRecord | undefined; until: number }>()
  const remember = (id: string, value: TenantRecord | undefined) => {
    if (ttl <= 0) return
    cache.delete(id)
    cache.set(id, { value, until: now() + ttl })
    if (cache.size > 10_000) cache.delete(cache.keys().next().value as string)
  }
  const run = async (
    sql: string,
    tenantId: string,
    action: TenantEventAction,
    by: TenantActor,
    detail: string | null,
    extra: unknown[] = [],
  ): Promise<TenantRecord | undefined> => {
    const id = tenantId.toLowerCase()
    if (!GUID.test(id)) return undefined
    const actor = by.objectId && GUID.test(by.objectId) ? by.objectId.toLowerCase() : null
    const params = [
      id,
      action,
      actor,
      by.name?.slice(0, 200) ?? null,
      detail?.slice(0, 500) ?? null,
      ...extra,
    ]
    const row = (await db.query<Row>(sql, params)).rows[0]
    if (!row) {
      cache.delete(id)
      return undefined
    }
    const record = toRecord(row)
    remember(id, record)
    return record
  }
  return {
    async get(tenantId) {
      const id = String(tenantId).toLowerCase()
      if (!GUID.test(id)) return undefined
      const hit = cache.get(id)
      if (hit && hit.until > now()) return hit.value
      const row = (await db.query<Row>('SELECT * FROM dvs2s_tenants WHERE tenant_id = $1::uuid', [id]))
        .rows[0]
      const value = row ? toRecord(row) : undefined
      remember(id, value)
      return value
    },
    async list() {
      return (await db.query<Row>('SELECT * FROM dvs2s_tenants ORDER BY created_at')).rows.map(toRecord)
    },
    async events(tenantId, { limit = 50 } = {}) {
      const id = String(tenantId).toLowerCase()
      if (!GUID.test(id)) return []
      const n = Math.max(1, Math.min(500, Math.floor(limit)))
      const rows = await db.query<EventRow>(
        'SELECT * FROM dvs2s_tenant_events WHERE tenant_id = $1::uuid ORDER BY id DESC LIMIT $2',
        [id, n],
      )
      return rows.rows.map(toEvent)
    },
    connect({ tenantId, orgUrl }, by) {
      const sql = `WITH t AS (
          INSERT INTO dvs2s_tenants (tenant_id, org_url, status, consented_at, onboarded_by, onboarded_by_name)
          VALUES ($1::uuid, $6::text, 'consented', now(), $3::uuid, $4::text)
          ON CONFLICT (tenant_id) DO NOTHING RETURNING *, NULL::text AS prev_status
        ), e AS (${EVENT})
        SELECT * FROM t`
      return run(sql, tenantId, 'connected', by, orgUrl, [orgUrl])
    },
    reconnect(tenantId, orgUrl, by) {
      const sql = changeSql(
        `status = 'offboarded'`,
        `status = 'consented', org_url = $6::text, consented_at = now(), provisioned_at = NULL, verified_at = NULL,
         offboarded_at = NULL, onboarded_by = $3::uuid, onboarded_by_name = $4::text`,
      )
      return run(sql, tenantId, 'reconnected', by, orgUrl, [orgUrl])
    },
    changeOrgUrl(tenantId, orgUrl, by) {
      const sql = changeSql(
        `status <> 'offboarded' AND org_url <> $6::text`,
        `status = 'consented', org_url = $6::text, consented_at = now(), provisioned_at = NULL, verified_at = NULL,
         onboarded_by = $3::uuid, onboarded_by_name = $4::text`,
      )
      return run(sql, tenantId, 'org_url_changed', by, orgUrl, [orgUrl])
    },
    markProvisioned(tenantId, by) {
      const sql = changeSql(
        `status <> 'offboarded'`,
        `status = CASE WHEN x.status = 'verified' THEN x.status ELSE 'provisioned' END, provisioned_at = now()`,
      )
      return run(sql, tenantId, 'provisioned', by, null)
    },
    recordCheck(tenantId, check, by) {
      const sql = changeSql(
        'true',
        `last_check_at = now(), last_check_ok = $6::boolean, last_check_detail = $7::text,
         status = CASE WHEN $6::boolean AND x.status IN ('consented', 'provisioned') THEN 'verified' ELSE x.status END,
         verified_at = CASE WHEN $6::boolean AND x.status IN ('consented', 'provisioned') THEN now() ELSE x.verified_at END`,
        't.prev_status IS DISTINCT FROM t.status',
      )
      return run(sql, tenantId, 'verified', by, check.detail, [check.ok, check.detail.slice(0, 1000)])
    },
    offboard(tenantId, by) {
      const sql = changeSql(`status <> 'offboarded'`, `status = 'offboarded', offboarded_at = now()`)
      return run(sql, tenantId, 'offboarded', by, null)
    },
    async consumeConsentState(stateId, expiresAt) {
      // Expired entries go first, so the table only ever holds the states of the last few minutes.
      await db.query('DELETE FROM dvs2s_used_consent_states WHERE expires_at <= now()')
      const inserted = await db.query<{ state_id: string }>(
        `INSERT INTO dvs2s_used_consent_states (state_id, expires_at)
         VALUES ($1::text, to_timestamp($2::double precision / 1000))
         ON CONFLICT (state_id) DO NOTHING RETURNING state_id`,
        [stateId, expiresAt],
      )
      return inserted.rows.length === 1
    },
    async close() {
      cache.clear()
      await options.close?.()
    },
  }
}
