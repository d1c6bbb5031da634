// What every snippet of the site is given: the emulator's world, seen the way an app's configuration would see it.
import { type Cloud, defineCloud } from '@dataverse-s2s/core'
import { defaultIds, type EmulatorHandle } from '@dataverse-s2s/emulator'

export interface Customer {
  tenantId: string
  orgUrl: string
  orgId: string
}

export interface Setup {
  /** The cloud: the emulator here; `'public'` (the default) on Microsoft's cloud. */
  cloud: Cloud
  /** Extra CA to trust: the emulator's. Not needed on Microsoft's cloud. */
  ca: string
  /** The multi-tenant app registration (Litware Connector). */
  clientId: string
  clientSecret: string
  certificate: { certificatePem: string; privateKeyPem: string }
  /** Contoso: consented and provisioned. */
  contoso: Customer
  /** Fabrikam: not onboarded. */
  fabrikam: Customer
  emulator: EmulatorHandle
}

export function setupFrom(emulator: EmulatorHandle): Setup {
  const customer = (tenantId: string): Customer => {
    const org = emulator.orgs.find((o) => o.tenantId === tenantId)
    if (!org) throw new Error(`the emulator has no org for tenant ${tenantId}`)
    return { tenantId, orgUrl: org.url, orgId: org.id }
  }
  const app = emulator.apps.find((a) => a.appId === defaultIds.multiTenantAppId)
  const certificate = app?.certificates[0]
  if (!certificate?.privateKeyPem) throw new Error('the multi-tenant app has no generated certificate')
  return {
    cloud: defineCloud({ name: 'emulator', authorityHost: emulator.url }),
    ca: emulator.caCertPem,
    clientId: defaultIds.multiTenantAppId,
    clientSecret: defaultIds.multiTenantAppSecret,
    certificate: { certificatePem: certificate.certificatePem, privateKeyPem: certificate.privateKeyPem },
    contoso: customer(defaultIds.contosoTenantId),
    fabrikam: customer(defaultIds.fabrikamTenantId),
    emulator,
  }
}
