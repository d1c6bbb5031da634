import { isCoreError } from '@dataverse-s2s/core'
import type { Hono, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { errorResponse } from '../errors.ts'
import { jsonBody, parseFlow } from './flow-state.ts'
import { intentProblem } from './intent.ts'
import type { OnboardingContext } from './options.ts'
import { publicTenant } from './public.ts'

/** Step 3: the signed-in admin who started presents the callback's ticket from the same browser. */
export function completeRoute(
  app: Hono,
  o: OnboardingContext,
  signedIn: MiddlewareHandler,
  admin: MiddlewareHandler,
  utf8: MiddlewareHandler,
) {
  app.post(`${o.basePath}/complete`, signedIn, admin, utf8, async (c) => {
    const user = c.var.user
    const body = await jsonBody(c)
    const ticket =
      typeof body?.ticket === 'string'
        ? body.ticket
        : // Stryker disable next-line StringLiteral: any non-ticket string is refused by states.verify with the same code and message
          ''
    let data: string | undefined
    try {
      data = (await o.states.verify(ticket, getCookie(c, o.cookieName) ?? '')).data
    } catch (error) {
      if (!isCoreError(error)) throw error
      return errorResponse(c, 400, error.code.toLowerCase(), error.message)
    }
    const flow = parseFlow(data, 'ticket')
    if (!flow) return errorResponse(c, 400, 'invalid_state', 'This is not an onboarding ticket: start again.')
    if (flow.oid !== user.objectId || flow.tid !== user.tenantId) {
      o.logger.warn?.('onboarding: ticket of another admin', { tenantId: user.tenantId })
      return errorResponse(
        c,
        403,
        'consent_of_another_admin',
        'This consent was started by another account: sign in as the administrator who started it, or start again.',
      )
    }
    const existing = await o.registry.get(flow.tid)
    const problem = intentProblem(existing, flow.org, flow.intent, true)
    if (problem) return errorResponse(c, 409, problem.code, problem.message)
    // The redirect is only a hint: the consent is real when the app gets an app-only token in that tenant now.
    o.tokens.invalidate({ tenantId: flow.tid, resource: flow.org })
    try {
      await o.tokens.getToken({ tenantId: flow.tid, resource: flow.org })
    } catch (error) {
      o.logger.warn?.('onboarding: no app-only token after consent', {
        code: isCoreError(error) ? error.code : 'unknown',
      })
      return errorResponse(
        c,
        409,
        'consent_not_effective',
        'The app still cannot get a token in your tenant: give the admin consent again (it can take a minute to apply).',
      )
    }
    const by = { objectId: user.objectId, name: user.name ?? null }
    const changed =
      flow.intent === 'reconnect'
        ? await o.registry.reconnect(flow.tid, flow.org, by)
        : flow.intent === 'change_org'
          ? await o.registry.changeOrgUrl(flow.tid, flow.org, by)
          : (existing ?? (await o.registry.connect({ tenantId: flow.tid, orgUrl: flow.org }, by)))
    if (!changed)
      return errorResponse(
        c,
        409,
        'tenant_changed',
        'Your organization’s connection changed meanwhile: reload and try again.',
      )
    if (existing && existing.orgUrl !== changed.orgUrl) {
      o.clients.delete(existing.tenantId, existing.orgUrl)
      o.tokens.invalidate({ tenantId: existing.tenantId, resource: existing.orgUrl })
    }
    o.logger.info?.('onboarding: consent completed', { tenantId: flow.tid, intent: flow.intent })
    return c.json({ tenant: publicTenant(changed), intent: flow.intent })
  })
}
