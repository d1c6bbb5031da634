import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startWorld, type World } from '../test/support.ts'
import { batch } from './batch.ts'
import { impersonate, onboard } from './onboarding.ts'
import { queries } from './queries.ts'
import { records } from './records.ts'
import { connect } from './setup.ts'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => {
  await world?.stop()
})

const contoso = () =>
  connect({
    orgUrl: world.contosoUrl,
    tenantId: defaultIds.contosoTenantId,
    clientId: defaultIds.multiTenantAppId,
    clientSecret: defaultIds.multiTenantAppSecret,
    emulator: { authorityHost: world.emulator.url, ca: world.emulator.caCertPem },
  })

it('setup + records', async () => {
  const result = await records(contoso())
  expect(result.accountId).toMatch(/^[0-9a-f-]{36}$/)
  expect(result.upserted).toMatch(/^[0-9a-f-]{36}$/)
  expect(result.created).toBe(true)
})

it('queries', async () => {
  const client = contoso()
  await client.create('accounts', { name: "A'city account", address1_city: "Val d'Isère", revenue: 5000 })
  const result = await queries(client, "Val d'Isère")
  expect(result.first.map((r) => r.name)).toEqual(["A'city account"])
  expect(result.total).toBe(1)
  expect(result.fetched).toBeGreaterThan(100)
})

it('batch', async () => {
  const results = await batch(contoso())
  expect(results.map((r) => r.ok)).toEqual([true, true, true])
})

it('onboarding and impersonation', async () => {
  world.emulator.admin.grantConsent(defaultIds.fabrikamTenantId, defaultIds.multiTenantAppId)
  const app = connect({
    orgUrl: world.fabrikamUrl,
    tenantId: defaultIds.fabrikamTenantId,
    clientId: defaultIds.multiTenantAppId,
    clientSecret: defaultIds.multiTenantAppSecret,
    emulator: { authorityHost: world.emulator.url, ca: world.emulator.caCertPem },
  })
  const admin = world.userClient(world.fabrikamUrl, defaultIds.users.fabrikamAdmin)
  const { user, report } = await onboard(admin, app, defaultIds.multiTenantAppId)
  expect(report.userId).toBe(user.systemUserId)
  await expect(impersonate(contoso(), defaultIds.users.contosoAlice)).resolves.toMatch(/^[0-9a-f-]{36}$/)
})
