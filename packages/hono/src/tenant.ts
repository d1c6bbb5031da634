import type { Context, MiddlewareHandler } from 'hono'
import { errorResponse, HonoS2SError } from './errors.ts'
import type { DataverseTenant } from './types.ts'
import type { DenialEvent } from './verify-user.ts'

/** Options of {@link resolveTenant}. */
export interface ResolveTenantOptions {
  /**
   * Finds the tenant in your registry by the verified user's `tid` (lower-case GUID). Return `undefined` for a tenant
   * that never onboarded. Only the verified `tid` is ever passed: nothing from headers, path or body.
   */
  lookup: (tenantId: string, c: Context) => DataverseTenant | undefined | Promise<DataverseTenant | undefined>
  onDenied?: (event: DenialEvent, c: Context) => void
}

/**
 * Middleware that finds the signed-in user's tenant (after {@link verifyUser}) and stores it in `c.var.tenant`.
 * Unknown tenants get 403 `tenant_not_onboarded`; inactive ones (offboarded, not verified yet) 403 `tenant_inactive`
 * with the registry's `reason`.
 * @param options - see {@link ResolveTenantOptions}
 * @throws HonoS2SError `INVALID_OPTIONS` without `lookup`; `MISSING_CONTEXT` at request time when `verifyUser` did not run first
 * @example
 * app.use(
 *   '/api/*',
 *   verifyUser({ verifier }),
 *   resolveTenant({
 *     lookup: async (tid) => {
 *       const t = await registry.get(tid) // the onboarding registry, or your own table of customers
 *       return t && { tenantId: t.tenantId, orgUrl: t.orgUrl, active: t.status === 'verified' }
 *     },
 *   }),
 * )
 */
export function resolveTenant(options: ResolveTenantOptions): MiddlewareHandler {
  if (typeof options?.lookup !== 'function') {
    throw new HonoS2SError('INVALID_OPTIONS', 'resolveTenant needs a lookup(tenantId) function')
  }
  const { lookup, onDenied } = options
  return async function resolveTenantMiddleware(c, next) {
    const user = c.get('user')
    if (!user) {
      throw new HonoS2SError('MISSING_CONTEXT', 'resolveTenant runs after verifyUser: add verifyUser first')
    }
    const tenant = await lookup(user.tenantId, c)
    if (!tenant || tenant.tenantId.toLowerCase() !== user.tenantId.toLowerCase()) {
      onDenied?.(
        {
          status: 403,
          code: 'tenant_not_onboarded',
          tenantId: user.tenantId,
          objectId: user.objectId,
          path: c.req.path,
        },
        c,
      )
      return errorResponse(
        c,
        403,
        'tenant_not_onboarded',
        'Your organization is not connected to this app yet: ask your administrator to connect it (onboarding).',
      )
    }
    if (!tenant.active) {
      onDenied?.(
        {
          status: 403,
          code: 'tenant_inactive',
          tenantId: user.tenantId,
          objectId: user.objectId,
          path: c.req.path,
        },
        c,
      )
      return errorResponse(
        c,
        403,
        'tenant_inactive',
        tenant.reason ??
          'Your organization’s connection to this app is not active: ask your administrator to check it.',
      )
    }
    c.set('tenant', tenant)
    await next()
  }
}
