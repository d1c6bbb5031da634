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
  expect(await migrate(db)).toEqual([1])
  registry = createSqlRegistry(db, { cacheTtlMs: 0 })
}, 180_000)
afterAll(async () => {
  await registry?.close()
})

describe('tenant registry on PGlite', () => {
  it('applies each migration once', async () => {
    expect(await migrate(db)).toEqual([])
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations')
    expect(rows.rows).toEqual([{ version: 1 }])
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

  it('refuses a status the schema does not know', async () => {
    await expect(db.query(`UPDATE tenants SET status = 'active'`)).rejects.toThrow()
  })
})
