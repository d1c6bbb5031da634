import { createDataverseClient } from '@dataverse-s2s/webapi'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { errorResponse } from '../errors.ts'
import { checkTenantConnection } from './check.ts'
import type { OnboardingContext } from './options.ts'
import { OnboardingError, provisionApplicationUser } from './provision.ts'
import { manualSteps, offboardingSteps, publicEvent, publicTenant } from './public.ts'
import type { TenantRecord } from './types.ts'

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The admin's own tenant, or the answer that there is none (or that it was offboarded, when `active`). */
async function ownTenant(
  c: Context,
  o: OnboardingContext,
  active: boolean,
): Promise<TenantRecord | Response> {
  const t = await o.registry.get(c.var.user.tenantId)
  if (!t)
    return errorResponse(c, 404, 'not_onboarded', 'Your organization is not connected yet: connect it first.')
  if (active && t.status === 'offboarded') {
    return errorResponse(c, 409, 'tenant_offboarded', 'Your organization was offboarded: reconnect it first.')
  }
  return t
}

const actor = (c: Context) => ({ objectId: c.var.user.objectId, name: c.var.user.name ?? null })

/** The connection page, provisioning, verification, offboarding and the event log: admins of the tenant only. */
export function manageRoutes(
  app: Hono,
  o: OnboardingContext,
  signedIn: MiddlewareHandler,
  admin: MiddlewareHandler,
  utf8: MiddlewareHandler,
) {
  const check = async (c: Context, tenantId: string) => {
    const result = await checkTenantConnection(o, tenantId, actor(c))
    o.logger.info?.('onboarding: connection checked', { tenantId, code: result.code })
    return c.json({
      ok: result.ok,
      code: result.code,
      detail: result.detail,
      tenant: publicTenant(result.tenant),
    })
  }

  app.get(`${o.basePath}/tenant`, signedIn, admin, async (c) => {
    const t = await ownTenant(c, o, false)
    if (t instanceof Response) return t
    let token: { ok: boolean; expiresOn?: Date; message?: string } | null = null
    if (t.status !== 'offboarded') {
      try {
        token = {
          ok: true,
          expiresOn: (await o.tokens.getToken({ tenantId: t.tenantId, resource: t.orgUrl })).expiresOn,
        }
      } catch (error) {
        token = { ok: false, message: error instanceof Error ? error.message : 'No token' }
      }
    }
    return c.json({
      tenant: publicTenant(t),
      token,
      events: (await o.registry.events(t.tenantId)).map(publicEvent),
      appId: o.clientId,
      roleName: o.roleName,
      manualSteps: manualSteps(o.clientId, o.roleName, t.orgUrl),
      offboardingSteps: offboardingSteps(o.clientId, t.orgUrl),
    })
  })

  app.get(`${o.basePath}/events`, signedIn, admin, async (c) => {
    const t = await ownTenant(c, o, false)
    if (t instanceof Response) return t
    return c.json({ events: (await o.registry.events(t.tenantId)).map(publicEvent) })
  })

  // The admin's own delegated token for the org (from msal-browser) is used for these few requests and dropped:
  // never stored, never logged.
  app.post(`${o.basePath}/provision`, signedIn, admin, utf8, async (c) => {
    const t = await ownTenant(c, o, true)
    if (t instanceof Response) return t
    const body = (await c.req.json().catch(() => undefined)) as { dataverseToken?: unknown } | undefined
    const adminToken =
      typeof body?.dataverseToken === 'string'
        ? body.dataverseToken
        : // Stryker disable next-line StringLiteral: the fallback only has to fail the JWT test below, as any non-JWT string does
          ''
    if (!JWT.test(adminToken)) {
      return errorResponse(
        c,
        400,
        'dataverse_token_required',
        'Sign in to your org first: the set-up needs your own token for the org.',
      )
    }
    const adminClient = createDataverseClient({
      url: t.orgUrl,
      getToken: () => adminToken,
      retry: false,
      ...(o.client?.ca ? { ca: o.client.ca } : {}),
      ...(o.client?.userAgent ? { userAgent: o.client.userAgent } : {}),
    })
    try {
      await provisionApplicationUser(adminClient, { appId: o.clientId, roleName: o.roleName })
    } catch (error) {
      if (!(error instanceof OnboardingError)) throw error
      o.logger.warn?.('onboarding: provisioning failed', { tenantId: t.tenantId, code: error.code })
      return errorResponse(c, 409, error.code.toLowerCase(), error.message)
    }
    if (!(await o.registry.markProvisioned(t.tenantId, actor(c)))) {
      return errorResponse(
        c,
        409,
        'tenant_changed',
        'Your organization’s connection changed meanwhile: reload and try again.',
      )
    }
    return check(c, t.tenantId)
  })

  app.post(`${o.basePath}/verify`, signedIn, admin, async (c) => {
    const t = await ownTenant(c, o, true)
    if (t instanceof Response) return t
    return check(c, t.tenantId)
  })

  app.post(`${o.basePath}/offboard`, signedIn, admin, utf8, async (c) => {
    const t = await ownTenant(c, o, true)
    if (t instanceof Response) return t
    const body = (await c.req.json().catch(() => undefined)) as { confirm?: unknown } | undefined
    if (body?.confirm !== true) {
      return errorResponse(
        c,
        409,
        'confirmation_required',
        'Offboarding stops your people’s access at once: confirm to continue.',
      )
    }
    const off = await o.registry.offboard(t.tenantId, actor(c))
    if (!off)
      return errorResponse(
        c,
        409,
        'tenant_changed',
        'Your organization’s connection changed meanwhile: reload and try again.',
      )
    o.clients.delete(off.tenantId, off.orgUrl)
    o.tokens.invalidate({ tenantId: off.tenantId, resource: off.orgUrl })
    o.logger.info?.('onboarding: tenant offboarded', { tenantId: off.tenantId })
    return c.json({ tenant: publicTenant(off), offboardingSteps: offboardingSteps(o.clientId, off.orgUrl) })
  })
}
