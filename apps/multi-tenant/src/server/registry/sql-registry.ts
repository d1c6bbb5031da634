import { migrations } from './migrations.ts'
import type { TenantRecord, TenantRegistry } from './types.ts'

/** The part of a PostgreSQL client the registry uses: PGlite and `pg`'s `Pool` both fit. */
export interface SqlClient {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>
  exec?(sql: string): Promise<unknown>
  close?(): Promise<void>
  end?(): Promise<void>
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

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Applies the migrations not applied yet, each in its own transaction. Returns the versions applied now. */
export async function migrate(db: SqlClient): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
  const done = new Set(
    (await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
  )
  const applied: number[] = []
  for (const m of migrations) {
    if (done.has(m.version)) continue
    await db.query('BEGIN')
    try {
      if (db.exec) await db.exec(m.sql)
      else await db.query(m.sql)
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
      await db.query('COMMIT')
    } catch (error) {
      await db.query('ROLLBACK')
      throw error
    }
    applied.push(m.version)
  }
  return applied
}

/**
 * A {@link TenantRegistry} on any PostgreSQL client (PGlite by default, `pg` on a server). Reads of one tenant are
 * served from a small in-process cache that every write through this registry refreshes; `cacheTtlMs` bounds how
 * stale another instance's write can look (default 5 s).
 */
export function createSqlRegistry(db: SqlClient, options: { cacheTtlMs?: number } = {}): TenantRegistry {
  const ttl = options.cacheTtlMs ?? 5_000
  const cache = new Map<string, { value: TenantRecord | undefined; until: number }>()
  const one = async (sql: string, params: unknown[]): Promise<TenantRecord> => {
    const row = (await db.query<Row>(sql, params)).rows[0]
    if (!row) throw new Error('The tenant is not in the registry')
    const record = toRecord(row)
    cache.set(record.tenantId, { value: record, until: Date.now() + ttl })
    return record
  }
  return {
    async get(tenantId) {
      const id = tenantId.toLowerCase()
      if (!GUID.test(id)) return undefined
      const hit = cache.get(id)
      if (hit && hit.until > Date.now()) return hit.value
      const row = (await db.query<Row>('SELECT * FROM tenants WHERE tenant_id = $1', [id])).rows[0]
      const value = row ? toRecord(row) : undefined
      cache.set(id, { value, until: Date.now() + ttl })
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string)
      return value
    },
    async list() {
      return (await db.query<Row>('SELECT * FROM tenants ORDER BY created_at')).rows.map(toRecord)
    },
    recordConsent({ tenantId, orgUrl }) {
      return one(
        `INSERT INTO tenants (tenant_id, org_url, status, consented_at)
         VALUES ($1, $2, 'consented', now())
         ON CONFLICT (tenant_id) DO UPDATE SET org_url = EXCLUDED.org_url, status = 'consented',
           consented_at = now(), provisioned_at = NULL, verified_at = NULL, offboarded_at = NULL, updated_at = now()
         RETURNING *`,
        [tenantId.toLowerCase(), orgUrl],
      )
    },
    markProvisioned(tenantId, by) {
      return one(
        `UPDATE tenants SET status = CASE WHEN status = 'verified' THEN status ELSE 'provisioned' END,
           provisioned_at = now(), onboarded_by = $2, onboarded_by_name = $3, updated_at = now()
         WHERE tenant_id = $1 AND status <> 'offboarded' RETURNING *`,
        [tenantId.toLowerCase(), by.objectId, by.name ?? null],
      )
    },
    recordCheck(tenantId, check, by) {
      return one(
        `UPDATE tenants SET last_check_at = now(), last_check_ok = $2, last_check_detail = $3,
           status = CASE WHEN $2 AND status <> 'offboarded' THEN 'verified' ELSE status END,
           verified_at = CASE WHEN $2 AND status <> 'offboarded' THEN COALESCE(verified_at, now()) ELSE verified_at END,
           onboarded_by = COALESCE(onboarded_by, $4), onboarded_by_name = COALESCE(onboarded_by_name, $5),
           updated_at = now()
         WHERE tenant_id = $1 RETURNING *`,
        [
          tenantId.toLowerCase(),
          check.ok,
          check.detail.slice(0, 1000),
          by?.objectId ?? null,
          by?.name ?? null,
        ],
      )
    },
    offboard(tenantId) {
      return one(
        `UPDATE tenants SET status = 'offboarded', offboarded_at = now(), updated_at = now()
         WHERE tenant_id = $1 RETURNING *`,
        [tenantId.toLowerCase()],
      )
    },
    async consumeConsentState(stateId, expiresAt) {
      // Expired entries go first, so the table only ever holds the states of the last few minutes.
      await db.query('DELETE FROM used_consent_states WHERE expires_at <= now()')
      const inserted = await db.query<{ state_id: string }>(
        `INSERT INTO used_consent_states (state_id, expires_at) VALUES ($1, to_timestamp($2::double precision / 1000))
         ON CONFLICT (state_id) DO NOTHING RETURNING state_id`,
        [stateId, expiresAt],
      )
      return inserted.rows.length === 1
    },
    async close() {
      cache.clear()
      if (db.close) await db.close()
      else if (db.end) await db.end()
    },
  }
}
