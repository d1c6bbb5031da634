import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgliteTenantRegistry } from '../pglite.ts'
import { migrateTenantRegistry } from './migrations.ts'
import { tenantRegistryContract } from './registry-contract.ts'
import { createSqlTenantRegistry } from './sql-registry.ts'
import type { TenantRegistry } from './types.ts'

let db: PGlite
let registry: TenantRegistry
const ada = { objectId: '99999999-8888-4777-8666-555555555555', name: 'Ada Admin' }
const template = join(tmpdir(), 'dataverse-s2s-pglite-0.5.16-initdb.tar')

beforeAll(async () => {
  const opened = await openPgliteTenantRegistry({ template, cacheTtlMs: 0 })
  db = opened.db
  registry = opened.registry
}, 180_000)
afterAll(async () => {
  await registry?.close()
})

describe('SQL tenant registry on PGlite', () => {
  it('applies each migration once, and again from a second instance changes nothing', async () => {
    expect(await migrateTenantRegistry(db)).toEqual([])
    const rows = await db.query<{ version: number }>('SELECT version FROM dvs2s_migrations ORDER BY version')
    expect(rows.rows.map((r) => r.version)).toEqual([1, 2, 3])
  })

  it('serves reads from a short cache that its own writes refresh', async () => {
    const cached = createSqlTenantRegistry(db, { cacheTtlMs: 60_000 })
    const id = '44444444-2222-4333-8444-555555555555'
    expect(await cached.get(id)).toBeUndefined()
    await cached.connect({ tenantId: id, orgUrl: 'https://z' }, ada)
    expect((await cached.get(id))?.status).toBe('consented')
    await registry.offboard(id, ada) // another instance: seen after the TTL
    expect((await cached.get(id))?.status).toBe('consented')
    await cached.offboard(id, ada)
    expect((await cached.get(id))?.status).toBe('offboarded')
  })

  it('forgets used consent states once they expire, so the table stays small', async () => {
    await registry.consumeConsentState('expired', Date.now() - 1_000)
    await registry.consumeConsentState('fresh', Date.now() + 60_000)
    const ids = (
      await db.query<{ state_id: string }>('SELECT state_id FROM dvs2s_used_consent_states')
    ).rows.map((r) => r.state_id)
    expect(ids).toContain('fresh')
    expect(ids).not.toContain('expired')
  })

  it('refuses a status the schema does not know', async () => {
    await expect(db.query(`UPDATE dvs2s_tenants SET status = 'active'`)).rejects.toThrow()
  })
})

tenantRegistryContract('SQL on PGlite', {
  get registry() {
    return registry
  },
  another: () => createSqlTenantRegistry(db, { cacheTtlMs: 0 }),
})
