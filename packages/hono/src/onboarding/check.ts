import type { DataverseClientCache } from '../dataverse.ts'
import { OnboardingError, verifyConnection } from './provision.ts'
import type { TenantActor, TenantRecord, TenantRegistry } from './types.ts'

/** What {@link checkTenantConnection} needs. */
export interface ConnectionCheckOptions {
  registry: TenantRegistry
  clients: DataverseClientCache
  /** Entity sets the application user must be able to read (default `['accounts']`). */
  verifyTables?: readonly string[]
}

/** The outcome of a connection check, as recorded on the tenant. */
export interface ConnectionCheckResult {
  ok: boolean
  /** `ok`, or the lower-case problem (`application_user_missing`, `consent_missing`, `privilege_missing`, …). */
  code: string
  detail: string
  tenant: TenantRecord
}

/**
 * Checks a tenant's connection as the app itself (an app-only token, WhoAmI, a read of each table) and records the
 * result; a successful first check makes the tenant `verified`. For a scheduled re-check, pass the app as `by`
 * (`{ objectId: null, name: 'scheduled check' }`).
 * @throws Error when the tenant is not in the registry
 * @example
 * // A nightly re-check of every verified tenant, as the app itself.
 * for (const t of await registry.list()) {
 *   if (t.status !== 'verified') continue
 *   const result = await checkTenantConnection({ registry, clients }, t.tenantId, { objectId: null, name: 'scheduled check' })
 *   if (!result.ok) console.warn(`${t.tenantId}: ${result.code} ${result.detail}`)
 * }
 */
export async function checkTenantConnection(
  options: ConnectionCheckOptions,
  tenantId: string,
  by: TenantActor,
): Promise<ConnectionCheckResult> {
  const t = await options.registry.get(tenantId)
  if (!t) throw new Error('The tenant is not in the registry')
  const client = options.clients.get(t.tenantId, t.orgUrl)
  let result: { ok: boolean; code: string; detail: string }
  try {
    result = {
      ok: true,
      code: 'ok',
      detail: await verifyConnection(client, options.verifyTables ?? ['accounts']),
    }
  } catch (error) {
    if (!(error instanceof OnboardingError)) throw error
    result = { ok: false, code: error.code.toLowerCase(), detail: error.message }
  }
  const tenant = await options.registry.recordCheck(t.tenantId, result, by)
  if (!tenant) throw new Error('The tenant is not in the registry')
  return { ...result, tenant }
}
