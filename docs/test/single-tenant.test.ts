import { defaultIds, startEmulator } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Setup, setupFrom } from '../snippets/setup.ts'
import { connectEnvironments, report, type SingleTenantConfig } from '../snippets/single-tenant.ts'

let setup: Setup
let config: SingleTenantConfig
beforeAll(async () => {
  setup = setupFrom(await startEmulator({ port: 0 }))
  const app = setup.emulator.apps.find((a) => a.appId === defaultIds.singleTenantAppId)!
  const cert = app.certificates[0]!
  config = {
    tenantId: defaultIds.contosoTenantId,
    clientId: app.appId,
    certificatePem: cert.certificatePem,
    privateKeyPem: cert.privateKeyPem!,
    environments: { prod: setup.contoso.orgUrl },
    cloud: setup.cloud,
    ca: setup.ca,
  }
})
afterAll(async () => {
  await setup?.emulator.stop()
})

describe('the single-tenant walkthrough code', () => {
  it('connects each environment of the tenant with a certificate and reports every contact once', async () => {
    const clients = await connectEnvironments(config)
    const prod = clients.get('prod')!
    expect((await prod.whoAmI()).userId).toMatch(/^[0-9a-f-]{36}$/)
    const lines: string[] = []
    const rows = await report(prod, (line) => lines.push(line))
    expect(rows).toBe(await prod.count('contacts'))
    expect(new Set(lines.map((l) => (JSON.parse(l) as { contactid: string }).contactid)).size).toBe(rows)
  })

  it('refuses to start when an environment belongs to another tenant', async () => {
    await expect(
      connectEnvironments({
        ...config,
        environments: { prod: setup.contoso.orgUrl, typo: setup.fabrikam.orgUrl },
      }),
    ).rejects.toThrow(/Environment typo .* belongs to another tenant/)
  })
})
