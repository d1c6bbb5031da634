import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgliteTenantRegistry } from '../pglite.ts'
import { migrateTenantRegistry } from './migrations.ts'
import { createSqlTenantRegistry } from './sql-registry.ts'
import type { TenantRegistry } from './types.ts'

let db: PGlite
let registry: TenantRegistry
const tid = '11111111-2222-4333-8444-555555555555'
const ada = { objectId: '99999999-8888-4777-8666-555555555555', name: 'Ada Admin' }
const bob = { objectId: '99999999-8888-4777-8666-000000000001', name: 'Bob Admin' }
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

  it('knows nothing of unknown or malformed tenant ids, and refuses to change them', async () => {
    expect(await registry.get(tid)).toBeUndefined()
    expect(await registry.get("x' OR '1'='1")).toBeUndefined()
    expect(await registry.offboard("x' OR '1'='1", ada)).toBeUndefined()
    expect(await registry.events('not-a-guid')).toEqual([])
  })

  it('walks a tenant through its life, each change with an event naming who, from which status', async () => {
    const connected = await registry.connect(
      { tenantId: tid.toUpperCase(), orgUrl: 'https://a.crm.dynamics.com' },
      ada,
    )
    expect(connected).toMatchObject({
      tenantId: tid,
      status: 'consented',
      onboardedBy: ada.objectId,
      onboardedByName: 'Ada Admin',
    })
    // a second consent never overwrites: connect answers undefined and nothing changes
    expect(
      await registry.connect({ tenantId: tid, orgUrl: 'https://evil.crm.dynamics.com' }, bob),
    ).toBeUndefined()
    expect((await registry.get(tid))?.orgUrl).toBe('https://a.crm.dynamics.com')
    expect((await registry.markProvisioned(tid, bob))?.status).toBe('provisioned')
    const failed = await registry.recordCheck(tid, { ok: false, detail: 'no application user' }, bob)
    expect(failed).toMatchObject({
      status: 'provisioned',
      lastCheckOk: false,
      lastCheckDetail: 'no application user',
    })
    const verified = await registry.recordCheck(tid, { ok: true, detail: 'WhoAmI ok' }, bob)
    expect(verified?.status).toBe('verified')
    expect(verified?.verifiedAt).toBeInstanceOf(Date)
    expect((await registry.recordCheck(tid, { ok: false, detail: 'role removed' }, bob))?.status).toBe(
      'verified',
    )
    expect(await registry.reconnect(tid, 'https://b.crm.dynamics.com', bob)).toBeUndefined()
    const off = await registry.offboard(tid, bob)
    expect(off).toMatchObject({ status: 'offboarded' })
    expect(await registry.offboard(tid, bob)).toBeUndefined()
    expect(await registry.markProvisioned(tid, bob)).toBeUndefined()
    expect(await registry.changeOrgUrl(tid, 'https://b.crm.dynamics.com', bob)).toBeUndefined()
    expect((await registry.recordCheck(tid, { ok: true, detail: 'still works' }, bob))?.status).toBe(
      'offboarded',
    )
    const again = await registry.reconnect(tid, 'https://b.crm.dynamics.com', bob)
    expect(again).toMatchObject({
      status: 'consented',
      orgUrl: 'https://b.crm.dynamics.com',
      offboardedAt: null,
      verifiedAt: null,
      onboardedBy: bob.objectId,
    })
    expect(await registry.changeOrgUrl(tid, 'https://b.crm.dynamics.com', ada)).toBeUndefined()
    expect((await registry.changeOrgUrl(tid, 'https://c.crm.dynamics.com', ada))?.orgUrl).toBe(
      'https://c.crm.dynamics.com',
    )
    const events = await registry.events(tid)
    expect(events.map((e) => [e.action, e.fromStatus, e.toStatus, e.actorName])).toEqual([
      ['org_url_changed', 'consented', 'consented', 'Ada Admin'],
      ['reconnected', 'offboarded', 'consented', 'Bob Admin'],
      ['offboarded', 'verified', 'offboarded', 'Bob Admin'],
      ['verified', 'provisioned', 'verified', 'Bob Admin'],
      ['provisioned', 'consented', 'provisioned', 'Bob Admin'],
      ['connected', null, 'consented', 'Ada Admin'],
    ])
    expect(events[0]).toMatchObject({ actorObjectId: ada.objectId, detail: 'https://c.crm.dynamics.com' })
    expect(events[0]?.at).toBeInstanceOf(Date)
    expect((await registry.events(tid, { limit: 2 })).map((e) => e.action)).toEqual([
      'org_url_changed',
      'reconnected',
    ])
    expect((await registry.list()).map((t) => t.tenantId)).toEqual([tid])
  })

  it('lets exactly one of two concurrent conflicting changes win', async () => {
    const other = '22222222-2222-4333-8444-555555555555'
    await registry.connect({ tenantId: other, orgUrl: 'https://x.crm.dynamics.com' }, ada)
    const race = await Promise.all([registry.offboard(other, ada), registry.offboard(other, bob)])
    expect(race.filter(Boolean)).toHaveLength(1)
    const connects = await Promise.all(
      [1, 2, 3].map(() =>
        registry.connect({ tenantId: '33333333-2222-4333-8444-555555555555', orgUrl: 'https://y' }, ada),
      ),
    )
    expect(connects.filter(Boolean)).toHaveLength(1)
    expect((await registry.events(other)).filter((e) => e.action === 'offboarded')).toHaveLength(1)
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

  it('lets an admin-consent state be used once, as seen by any registry on the same database', async () => {
    const expiresAt = Date.now() + 60_000
    expect(await registry.consumeConsentState('state-a', expiresAt)).toBe(true)
    expect(await registry.consumeConsentState('state-a', expiresAt)).toBe(false)
    const other = createSqlTenantRegistry(db)
    expect(await other.consumeConsentState('state-a', expiresAt)).toBe(false)
    const race = await Promise.all([1, 2, 3, 4].map(() => registry.consumeConsentState('state-c', expiresAt)))
    expect(race.filter(Boolean)).toHaveLength(1)
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
