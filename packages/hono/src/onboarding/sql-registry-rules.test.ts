import { describe, expect, it } from 'vitest'
import { createSqlTenantRegistry } from './sql-registry.ts'
import type { SqlExecutor } from './types.ts'

// The SQL registry's own rules (id normalisation, actor and text bounds, the read cache, close) against a recording
// executor, so each parameter and each database round trip is visible (found by mutation testing:
// `pnpm mutate hono`). The SQL itself runs on PGlite in sql-registry.test.ts and the registry contract.

const ID = 'ABCDEF01-2222-4333-8444-555555555555'
const id = ID.toLowerCase()
const ADA = { objectId: '99999999-8888-4777-8666-55555555555A', name: 'Ada Admin' }

const row = (tenantId: string, status = 'consented') => ({
  tenant_id: tenantId,
  org_url: 'https://contoso.crm.dynamics.com',
  status,
  onboarded_by: null,
  onboarded_by_name: null,
  consented_at: new Date(0),
  provisioned_at: null,
  verified_at: null,
  offboarded_at: null,
  last_check_at: null,
  last_check_ok: null,
  last_check_detail: null,
  created_at: new Date(0),
  updated_at: new Date(0),
})

/** A database that records each query and answers every one with a tenant row (or none). */
function recording(answer: (sql: string, params: unknown[]) => unknown[] = (_, p) => [row(String(p[0]))]) {
  const queries: { sql: string; params: unknown[] }[] = []
  const db: SqlExecutor = {
    query: async <T>(sql: string, params: unknown[] = []) => {
      queries.push({ sql, params })
      return { rows: answer(sql, params) as T[] }
    },
  }
  return { db, queries }
}

describe('createSqlTenantRegistry: ids and actors', () => {
  it('refuses ids that are not exactly a GUID without a query', async () => {
    const { db, queries } = recording()
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 0 })
    for (const bad of [`x${ID}`, `${ID}x`, 'not-a-guid']) {
      expect(await registry.get(bad)).toBeUndefined()
      expect(await registry.events(bad)).toEqual([])
      expect(await registry.offboard(bad, ADA)).toBeUndefined()
    }
    expect(queries).toEqual([])
  })

  it('queries with the lower-case tenant id (get, events, changes)', async () => {
    const { db, queries } = recording((sql) => (sql.includes('tenant_events') ? [] : [row(id)]))
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 0 })
    await registry.get(ID)
    await registry.events(ID)
    await registry.offboard(ID, ADA)
    expect(queries.map((q) => q.params[0])).toEqual([id, id, id])
  })

  it('records a GUID actor in lower case, any other actor as null, and bounds the name to 200 characters', async () => {
    const { db, queries } = recording()
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 0 })
    await registry.offboard(ID, ADA)
    await registry.offboard(ID, { objectId: 'scheduled-check', name: 'x'.repeat(300) })
    await registry.offboard(ID, { objectId: null, name: null })
    expect(queries.map((q) => q.params.slice(2, 4))).toEqual([
      [ADA.objectId.toLowerCase(), 'Ada Admin'],
      [null, 'x'.repeat(200)],
      [null, null],
    ])
  })

  it('bounds the event detail to 500 characters and the recorded check detail to 1,000', async () => {
    const { db, queries } = recording()
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 0 })
    await registry.recordCheck(ID, { ok: false, detail: 'd'.repeat(2_000) }, ADA)
    expect(queries[0]?.params.slice(4)).toEqual(['d'.repeat(500), false, 'd'.repeat(1_000)])
  })
})

describe('createSqlTenantRegistry: the read cache', () => {
  it('serves a read for 5 seconds by default, then asks the database again', async () => {
    let t = 1_000
    const { db, queries } = recording()
    const registry = createSqlTenantRegistry(db, { now: () => t })
    await registry.get(ID)
    t += 4_999
    await registry.get(id)
    expect(queries).toHaveLength(1)
    t += 1
    await registry.get(id)
    expect(queries).toHaveLength(2)
  })

  it('a write through the registry refreshes the cache under the lower-case id', async () => {
    const { db, queries } = recording((_, p) => [row(String(p[0]), 'offboarded')])
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 60_000 })
    await registry.offboard(ID, ADA)
    expect((await registry.get(id))?.status).toBe('offboarded')
    expect(queries).toHaveLength(1)
  })

  it('cacheTtlMs 0 turns the cache off, even when the clock steps back', async () => {
    let t = 10_000
    const { db, queries } = recording()
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 0, now: () => t })
    await registry.get(ID)
    t -= 5_000
    await registry.get(ID)
    expect(queries).toHaveLength(2)
  })

  it('keeps at most 10,000 tenants, dropping the oldest first', async () => {
    const { db, queries } = recording(() => [])
    const registry = createSqlTenantRegistry(db, { cacheTtlMs: 60_000, now: () => 0 })
    const nth = (n: number) => `${n.toString(16).padStart(8, '0')}-2222-4333-8444-555555555555`
    for (let n = 0; n < 10_000; n++) await registry.get(nth(n))
    await registry.get(nth(0))
    expect(queries).toHaveLength(10_000)
    await registry.get(nth(10_000))
    await registry.get(nth(1))
    expect(queries).toHaveLength(10_001)
    await registry.get(nth(0))
    expect(queries).toHaveLength(10_002)
  })

  it('close empties the cache and closes the database once; without a close option it just empties', async () => {
    const { db, queries } = recording()
    let closed = 0
    const registry = createSqlTenantRegistry(db, {
      cacheTtlMs: 60_000,
      close: async () => {
        closed++
      },
    })
    await registry.get(ID)
    await registry.close()
    expect(closed).toBe(1)
    await registry.get(ID)
    expect(queries).toHaveLength(2)
    const bare = createSqlTenantRegistry(recording().db)
    await expect(bare.close()).resolves.toBeUndefined()
  })
})
