import { Hono, type MiddlewareHandler } from 'hono'
import { errorResponse, HonoS2SError } from '../errors.ts'
import { apiUtf8Body } from '../utf8-body.ts'
import { verifyUser } from '../verify-user.ts'
import { callbackRoute } from './callback.ts'
import { completeRoute } from './complete.ts'
import { manageRoutes } from './manage.ts'
import { type OnboardingRouterOptions, resolveOptions } from './options.ts'
import { startRoute } from './start.ts'

/**
 * The onboarding of customer tenants as a Hono router: a signed-in administrator of a tenant connects it (admin
 * consent), sets up the application user, verifies, re-verifies, offboards, reconnects or moves it to another org,
 * and reads its event log. Guarantees:
 * - every change to a tenant is made for a user signed in with a verified token of **that** tenant who administers
 *   it (`wids` with a role that can grant tenant-wide consent, or the app role `Tenant.Admin`);
 * - the admin-consent redirect is a hint: it completes only a flow the same admin started in the same browser
 *   (state bound to the session cookie, the admin's `oid` and `tid`), and only when the signed-in admin presents the
 *   ticket it yields to `POST {basePath}/complete`; the redirect itself changes nothing;
 * - a consent never overwrites a tenant: reconnecting an offboarded tenant or changing its org are explicit,
 *   confirmed intents;
 * - every change appends an event (who, when, what, from which status) in the same SQL statement.
 *
 * Routes (JSON unless said): `POST {basePath}/start`, `GET {callbackPath}` (redirect; `HEAD` is 405 and uses up no state), `POST {basePath}/complete`,
 * `GET {basePath}/tenant`, `GET {basePath}/events`, `POST {basePath}/provision`, `POST {basePath}/verify`,
 * `POST {basePath}/offboard`.
 * @param options - see {@link OnboardingRouterOptions}
 * @throws HonoS2SError `INVALID_OPTIONS` when a required option is missing
 * @example
 * app.route('/', onboardingRouter({ registry, verifier: anyTenantVerifier, tokens, discovery, states, clients,
 *   clientId, publicUrl: 'https://app.example.com', roleName: 'My App Connector' }))
 */
export function onboardingRouter(options: OnboardingRouterOptions): Hono {
  const required = [
    'registry',
    'verifier',
    'tokens',
    'discovery',
    'states',
    'clients',
    'clientId',
    'publicUrl',
    'roleName',
  ] as const
  for (const key of required) {
    if (!options?.[key]) throw new HonoS2SError('INVALID_OPTIONS', `onboardingRouter needs ${key}`)
  }
  const o = resolveOptions(options)
  const app = new Hono()
  const signedIn = verifyUser({ verifier: o.verifier })
  const admin: MiddlewareHandler = async (c, next) => {
    const user = c.var.user
    if (!o.isAdministrator(user, user.tenantId)) {
      o.logger.warn?.('onboarding: refused a user who is not a tenant admin', {
        tenantId: user.tenantId,
        path: c.req.path,
      })
      return errorResponse(
        c,
        403,
        'not_tenant_admin',
        'Only an administrator of your organization’s tenant (Global Administrator, Privileged Role Administrator, Cloud Application Administrator, Application Administrator, or the app role Tenant.Admin) can manage its connection.',
      )
    }
    await next()
  }
  // After the admin check, so a stranger's body is never read; before the routes, which read it as JSON.
  const utf8 = apiUtf8Body()
  startRoute(app, o, signedIn, admin, utf8)
  callbackRoute(app, o)
  completeRoute(app, o, signedIn, admin, utf8)
  manageRoutes(app, o, signedIn, admin, utf8)
  return app
}
