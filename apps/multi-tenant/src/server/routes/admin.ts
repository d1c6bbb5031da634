import type { VerifiedUser } from '@dataverse-s2s/core'
import { errorResponse, verifyUser } from '@dataverse-s2s/hono'
import { type Context, Hono } from 'hono'
import type { TenantRecord } from '../registry/types.ts'
import type { Services } from '../services.ts'
import { manualSteps, publicTenant, runCheck } from './onboarding.ts'

const GLOBAL_ADMIN_ROLE = '62e90394-69f5-4237-9190-012177145e10'

/**
 * Who may administer a tenant's connection: the admin who connected it, a Global Administrator (the `wids` claim,
 * an optional claim of the app registration), or a user given the app role `Tenant.Admin`.
 */
export function canAdminister(user: VerifiedUser, tenant: TenantRecord): boolean {
  if (tenant.onboardedBy && tenant.onboardedBy.toLowerCase() === user.objectId.toLowerCase()) return true
  const wids = user.claims['wids']
  if (Array.isArray(wids) && wids.includes(GLOBAL_ADMIN_ROLE)) return true
  return user.roles.includes('Tenant.Admin')
}

/** Steps to remove the app from the customer's side after offboarding. */
export function offboardingSteps(s: Services, orgUrl: string): string[] {
  return [
    `In the Power Platform admin center, open the environment at ${orgUrl}, Settings > Users + permissions > Application users: select the app user of ${s.clientId}, Deactivate it, then Delete it.`,
    `In the Microsoft Entra admin center, Enterprise applications: find the application id ${s.clientId} and delete it (this removes the admin consent; tokens stop at once).`,
    'Your data stays in your org; this app keeps only the tenant id, org URL and onboarding dates, marked as offboarded.',
  ]
}

/** Tenant admin: connection status, re-verify, offboard. */
export function adminRoutes(s: Services): Hono {
  const app = new Hono()
  const signedIn = verifyUser({ verifier: s.verifier })

  const load = async (user: VerifiedUser) => {
    const tenant = await s.registry.get(user.tenantId)
    if (!tenant) return { error: 'not_onboarded' as const }
    if (!canAdminister(user, tenant)) return { error: 'not_admin' as const }
    return { tenant }
  }
  const refuse = (c: Context, error: 'not_onboarded' | 'not_admin') =>
    error === 'not_onboarded'
      ? errorResponse(c, 403, 'tenant_not_onboarded', 'Your organization is not connected to this app.')
      : errorResponse(
          c,
          403,
          'not_tenant_admin',
          'Only the administrator who connected your organization (or a Global Administrator) can manage the connection.',
        )

  app.get('/api/admin/connection', signedIn, async (c) => {
    const r = await load(c.var.user)
    if ('error' in r) return refuse(c, r.error)
    const token = r.tenant.status === 'offboarded' ? null : await tokenStatus(s, r.tenant)
    return c.json({
      tenant: publicTenant(r.tenant),
      token,
      appId: s.clientId,
      roleName: s.config.roleName,
      manualSteps: manualSteps(s, r.tenant.orgUrl),
      offboardingSteps: offboardingSteps(s, r.tenant.orgUrl),
    })
  })

  app.post('/api/admin/verify', signedIn, async (c) => {
    const r = await load(c.var.user)
    if ('error' in r) return refuse(c, r.error)
    if (r.tenant.status === 'offboarded') {
      return errorResponse(
        c,
        409,
        'offboarded',
        'This organization was offboarded: connect it again to use the app.',
      )
    }
    const result = await runCheck(s, r.tenant.tenantId)
    return c.json({
      ok: result.ok,
      code: result.code,
      detail: result.detail,
      tenant: publicTenant(result.tenant),
    })
  })

  app.post('/api/admin/offboard', signedIn, async (c) => {
    const r = await load(c.var.user)
    if ('error' in r) return refuse(c, r.error)
    const tenant = await s.registry.offboard(r.tenant.tenantId)
    s.clients.delete(tenant.tenantId, tenant.orgUrl)
    s.tokens.invalidate({ tenantId: tenant.tenantId, resource: tenant.orgUrl })
    s.logger.info('tenant offboarded', { tenantId: tenant.tenantId })
    return c.json({ tenant: publicTenant(tenant), offboardingSteps: offboardingSteps(s, tenant.orgUrl) })
  })

  return app
}

async function tokenStatus(s: Services, t: TenantRecord) {
  try {
    const token = await s.tokens.getToken({ tenantId: t.tenantId, resource: t.orgUrl })
    return { ok: true, expiresOn: token.expiresOn }
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : 'No token' }
  }
}
