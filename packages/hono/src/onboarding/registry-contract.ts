import { describe, expect, it } from 'vitest'
import type { TenantRegistry } from './types.ts'

/** What a registry under test gives the contract: the registry, and another one on the same database. */
export interface RegistryContext {
  registry: TenantRegistry
  /** A second registry (another instance) on the same database. */
  another(): TenantRegistry
}

const tid = '11111111-2222-4333-8444-555555555555'
const ada = { objectId: '99999999-8888-4777-8666-555555555555', name: 'Ada Admin' }
const bob = { objectId: '99999999-8888-4777-8666-000000000001', name: 'Bob Admin' }

/**
 * The behaviour every {@link TenantRegistry} must have, as a vitest suite: run it against each implementation
 * (PGlite here; a PostgreSQL server with node-postgres too) on an empty, migrated database.
 */
export function tenantRegistryContract(name: string, context: RegistryContext): void {
  describe(`tenant registry contract: ${name}`, () => {
    it('knows nothing of unknown or malformed tenant ids, and refuses to change them', async () => {
      expect(await context.registry.get(tid)).toBeUndefined()
      expect(await context.registry.get("x' OR '1'='1")).toBeUndefined()
      expect(await context.registry.offboard("x' OR '1'='1", ada)).toBeUndefined()
      expect(await context.registry.events('not-a-guid')).toEqual([])
    })

    it('walks a tenant through its life, each change with an event naming who, from which status', async () => {
      const connected = await context.registry.connect(
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
        await context.registry.connect({ tenantId: tid, orgUrl: 'https://evil.crm.dynamics.com' }, bob),
      ).toBeUndefined()
      expect((await context.registry.get(tid))?.orgUrl).toBe('https://a.crm.dynamics.com')
      expect((await context.registry.markProvisioned(tid, bob))?.status).toBe('provisioned')
      const failed = await context.registry.recordCheck(
        tid,
        { ok: false, detail: 'no application user' },
        bob,
      )
      expect(failed).toMatchObject({
        status: 'provisioned',
        lastCheckOk: false,
        lastCheckDetail: 'no application user',
      })
      const verified = await context.registry.recordCheck(tid, { ok: true, detail: 'WhoAmI ok' }, bob)
      expect(verified?.status).toBe('verified')
      expect(verified?.verifiedAt).toBeInstanceOf(Date)
      expect(
        (await context.registry.recordCheck(tid, { ok: false, detail: 'role removed' }, bob))?.status,
      ).toBe('verified')
      expect(await context.registry.reconnect(tid, 'https://b.crm.dynamics.com', bob)).toBeUndefined()
      const off = await context.registry.offboard(tid, bob)
      expect(off).toMatchObject({ status: 'offboarded' })
      expect(await context.registry.offboard(tid, bob)).toBeUndefined()
      expect(await context.registry.markProvisioned(tid, bob)).toBeUndefined()
      expect(await context.registry.changeOrgUrl(tid, 'https://b.crm.dynamics.com', bob)).toBeUndefined()
      expect(
        (await context.registry.recordCheck(tid, { ok: true, detail: 'still works' }, bob))?.status,
      ).toBe('offboarded')
      const again = await context.registry.reconnect(tid, 'https://b.crm.dynamics.com', bob)
      expect(again).toMatchObject({
        status: 'consented',
        orgUrl: 'https://b.crm.dynamics.com',
        offboardedAt: null,
        verifiedAt: null,
        onboardedBy: bob.objectId,
      })
      expect(await context.registry.changeOrgUrl(tid, 'https://b.crm.dynamics.com', ada)).toBeUndefined()
      expect((await context.registry.changeOrgUrl(tid, 'https://c.crm.dynamics.com', ada))?.orgUrl).toBe(
        'https://c.crm.dynamics.com',
      )
      const events = await context.registry.events(tid)
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
      expect((await context.registry.events(tid, { limit: 2 })).map((e) => e.action)).toEqual([
        'org_url_changed',
        'reconnected',
      ])
      expect((await context.registry.list()).map((t) => t.tenantId)).toContain(tid)
    })

    it('lets exactly one of two concurrent conflicting changes win', async () => {
      const other = '22222222-2222-4333-8444-555555555555'
      await context.registry.connect({ tenantId: other, orgUrl: 'https://x.crm.dynamics.com' }, ada)
      const race = await Promise.all([
        context.registry.offboard(other, ada),
        context.registry.offboard(other, bob),
      ])
      expect(race.filter(Boolean)).toHaveLength(1)
      const connects = await Promise.all(
        [1, 2, 3].map(() =>
          context.registry.connect(
            { tenantId: '33333333-2222-4333-8444-555555555555', orgUrl: 'https://y' },
            ada,
          ),
        ),
      )
      expect(connects.filter(Boolean)).toHaveLength(1)
      expect((await context.registry.events(other)).filter((e) => e.action === 'offboarded')).toHaveLength(1)
    })

    it('lets an admin-consent state be used once, as seen by any registry on the same database', async () => {
      const expiresAt = Date.now() + 60_000
      expect(await context.registry.consumeConsentState('state-a', expiresAt)).toBe(true)
      expect(await context.registry.consumeConsentState('state-a', expiresAt)).toBe(false)
      const other = context.another()
      expect(await other.consumeConsentState('state-a', expiresAt)).toBe(false)
      const race = await Promise.all(
        [1, 2, 3, 4].map(() => context.registry.consumeConsentState('state-c', expiresAt)),
      )
      expect(race.filter(Boolean)).toHaveLength(1)
      // An expired state is forgotten, so it could be recorded again (and is refused by its signature's expiry).
      expect(await context.registry.consumeConsentState('expired', Date.now() - 1_000)).toBe(true)
      expect(await context.registry.consumeConsentState('expired', Date.now() - 1_000)).toBe(true)
    })
  })
}
