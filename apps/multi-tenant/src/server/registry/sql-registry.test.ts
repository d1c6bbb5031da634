import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPglite } from './pglite.ts'
import { createSqlRegistry, migrate } from './sql-registry.ts'
import type { TenantRegistry } from './types.ts'

let db: PGlite
let registry: TenantRegistry
const tid = '11111111-2222-4333-8444-555555555555'
const admin = { objectId: '99999999-8888-4777-8666-555555555555', name: 'Ada Admin' }

beforeAll(async () => {
  // a template without the schema: this suite checks the migrations themselves
  db = await openPglite({ template: join(tmpdir(), 'dataverse-s2s-pglite-0.5.16-initdb.tar') })
  expect(await migrate(db)).toEqual([1, 2])
  registry = createSqlRegistry(db, { cacheTtlMs: 0 })
}, 180_000)
afterAll(async () => {
  await registry?.close()
})

describe('tenant registry on PGlite', () => {
  it('applies each migration once', async () => {
    expect(await migrate(db)).toEqual([])
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations')
    expect(rows.rows).toEqual([{ version: 1 }, { version: 2 }])
  })

  it('knows nothing of unknown or malformed tenant ids', async () => {
    expect(await registry.get(tid)).toBeUndefined()
    expect(await registry.get("x' OR '1'='1")).toBeUndefined()
  })

  it('walks a tenant through consented → provisioned → verified → offboarded → consented again', async () => {
    const consented = await registry.recordConsent({
      tenantId: tid.toUpperCase(),
      orgUrl: 'https://a.crm.dynamics.com',
    })
    expect(consented).toMatchObject({ tenantId: tid, status: 'consented', onboardedBy: null })
    const provisioned = await registry.markProvisioned(tid, admin)
    expect(provisioned).toMatchObject({
      status: 'provisioned',
      onboardedBy: admin.objectId,
      onboardedByName: 'Ada Admin',
    })
    const failed = await registry.recordCheck(tid, { ok: false, detail: 'no application user' })
    expect(failed).toMatchObject({
      status: 'provisioned',
      lastCheckOk: false,
      lastCheckDetail: 'no application user',
    })
    const verified = await registry.recordCheck(tid, { ok: true, detail: 'WhoAmI ok' })
    expect(verified.status).toBe('verified')
    expect(verified.verifiedAt).toBeInstanceOf(Date)
    const recheckFailed = await registry.recordCheck(tid, { ok: false, detail: 'role removed' })
    expect(recheckFailed).toMatchObject({ status: 'verified', lastCheckOk: false })
    const off = await registry.offboard(tid)
    expect(off.status).toBe('offboarded')
    expect(off.offboardedAt).toBeInstanceOf(Date)
    expect((await registry.recordCheck(tid, { ok: true, detail: 'still works' })).status).toBe('offboarded')
    await expect(registry.markProvisioned(tid, admin)).rejects.toThrow()
    const again = await registry.recordConsent({ tenantId: tid, orgUrl: 'https://b.crm.dynamics.com' })
    expect(again).toMatchObject({
      status: 'consented',
      orgUrl: 'https://b.crm.dynamics.com',
      offboardedAt: null,
      verifiedAt: null,
    })
    expect((await registry.list()).map((t) => t.tenantId)).toEqual([tid])
  })

  it('lets an admin-consent state be used once, as seen by any registry on the same database', async () => {
    const expiresAt = Date.now() + 60_000
    expect(await registry.consumeConsentState('state-a', expiresAt)).toBe(true)
    expect(await registry.consumeConsentState('state-a', expiresAt)).toBe(false)
    // Another instance (or this one after a restart) on the same database sees the state as used.
    const other = createSqlRegistry(db)
    expect(await other.consumeConsentState('state-a', expiresAt)).toBe(false)
    expect(await other.consumeConsentState('state-b', expiresAt)).toBe(true)
    // Concurrent uses of one state: exactly one wins.
    const race = await Promise.all([1, 2, 3, 4].map(() => registry.consumeConsentState('state-c', expiresAt)))
    expect(race.filter(Boolean)).toHaveLength(1)
  })

  it('forgets used states once they expire, so the table stays small', async () => {
    await registry.consumeConsentState('expired', Date.now() - 1_000)
    await registry.consumeConsentState('fresh', Date.now() + 60_000)
    const ids = (await db.query<{ state_id: string }>('SELECT state_id FROM used_consent_states')).rows.map(
      (r) => r.state_id,
    )
    expect(ids).toContain('fresh')
    expect(ids).not.toContain('expired')
  })

  it('refuses a status the schema does not know', async () => {
    await expect(db.query(`UPDATE tenants SET status = 'active'`)).rejects.toThrow()
  })
})
