import { randomBytes } from 'node:crypto'
import type { EmulatorHandle } from '@dataverse-s2s/emulator'
import type { AppConfig } from './config.ts'

/** The role the emulator's Dataverse seed defines for S2S application users (read/write accounts and contacts, act on behalf). */
const CONNECTOR_ROLE = 'Dataverse S2S Connector'

export interface EmulatorWorld {
  tenantId: string
  clientId: string
  /** `dev` (created here) and `prod` (the seeded Contoso org), both in Contoso. */
  orgs: { dev: { id: string; url: string }; prod: { id: string; url: string } }
}

/**
 * Makes the emulator's world ready for this app, the way an administrator prepares a real tenant (README,
 * "Use your own tenant"): consent for the single-tenant app in its home tenant, a second Contoso environment,
 * and the application user with a custom role in each environment. Idempotent.
 */
export async function prepareEmulator(handle: EmulatorHandle): Promise<EmulatorWorld> {
  const contoso = handle.tenants.find((t) => t.domain === 'contoso.onmicrosoft.com')
  const app = handle.apps.find((a) => a.signInAudience === 'AzureADMyOrg' && a.homeTenantId === contoso?.id)
  if (!contoso || !app)
    throw new Error(
      'The emulator has no Contoso tenant with a single-tenant app: start it with the default seed.',
    )
  if (!handle.world.getServicePrincipal(contoso.id, app.appId))
    handle.admin.grantConsent(contoso.id, app.appId)

  const prod = handle.orgs.find((o) => o.tenantId === contoso.id && o.uniqueName === 'contoso')
  if (!prod) throw new Error('The emulator has no "contoso" org: start it with the default seed.')
  let dev = handle.orgs.find((o) => o.tenantId === contoso.id && o.uniqueName === 'contoso-dev')
  let devIsNew = false
  if (!dev) {
    dev = await handle.admin.createOrg({
      uniqueName: 'contoso-dev',
      tenantId: contoso.id,
      displayName: 'Contoso (Development)',
    })
    devIsNew = true
  }
  for (const org of [prod, dev]) {
    try {
      handle.admin.createApplicationUser(org.id, app.appId, [CONNECTOR_ROLE])
    } catch (error) {
      // Already there from an earlier start (persisted state): that is the goal.
      if (!/exist|already|duplicate/i.test(error instanceof Error ? error.message : '')) throw error
    }
  }
  if (devIsNew) {
    // A few accounts owned by people, so "accounts by owner" has more than SYSTEM to show.
    const data = handle.admin.org(dev.id).data
    const owners = handle.users
      .filter((u) => u.tenantId === contoso.id)
      .slice(0, 3)
      .map((u) => data.ensureSystemUserForUser(u, [])) // the users the seed created, roles unchanged
    handle.admin.insertRows(
      dev.id,
      'accounts',
      Array.from({ length: 12 }, (_, i) => ({
        name: `Dev sandbox account ${i + 1}`,
        accountnumber: `DEV-${i + 1}`,
        ...(owners.length ? { 'ownerid@odata.bind': `/systemusers(${owners[i % owners.length]})` } : {}),
      })),
    )
    handle.admin.insertRows(dev.id, 'contacts', [
      { firstname: 'Test', lastname: 'Contact (dev)', emailaddress1: 'test.contact@contoso-dev.example' },
    ])
  }
  return {
    tenantId: contoso.id,
    clientId: app.appId,
    orgs: { dev: { id: dev.id, url: dev.url }, prod: { id: prod.id, url: prod.url } },
  }
}

/** The app's configuration for the emulator's Contoso tenant (certificate credential, `dev` and `prod`). */
export function emulatorConfig(
  handle: EmulatorHandle,
  world: EmulatorWorld,
  options: { port: number; publicUrl?: string; sessionSecrets?: string[] },
): AppConfig {
  const app = handle.apps.find((a) => a.appId === world.clientId)
  const certificate = app?.certificates.find((c) => c.privateKeyPem)
  if (!certificate?.privateKeyPem)
    throw new Error('The emulator gave the single-tenant app no certificate with a key.')
  return {
    tenantId: world.tenantId,
    clientId: world.clientId,
    authorityHost: handle.url,
    certificatePem: certificate.certificatePem,
    privateKeyPem: certificate.privateKeyPem,
    environments: [
      { name: 'dev', url: world.orgs.dev.url },
      { name: 'prod', url: world.orgs.prod.url },
    ],
    publicUrl: options.publicUrl ?? `http://localhost:${options.port}`,
    port: options.port,
    sessionSecrets: options.sessionSecrets ?? [randomBytes(48).toString('base64url')],
    caPem: handle.caCertPem,
  }
}
