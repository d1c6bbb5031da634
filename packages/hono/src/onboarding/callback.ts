import { isCoreError, parseAdminConsentRedirect } from '@dataverse-s2s/core'
import type { Hono } from 'hono'
import { getCookie } from 'hono/cookie'
import { errorResponse } from '../errors.ts'
import { parseFlow } from './flow-state.ts'
import type { OnboardingContext } from './options.ts'

/** Step 2: Entra ID's redirect. */
export function callbackRoute(app: Hono, o: OnboardingContext) {
  // A browser redirect from Entra ID: it carries no token, so it only checks the state (this browser, unexpired,
  // once) and the tenant, then hands the SPA a ticket that the signed-in admin must present to /complete.
  app.get(o.callbackPath, async (c) => {
    // Hono answers HEAD with the GET handler: a link prefetcher's or scanner's HEAD would use up the one-time state
    // (and mint a ticket nobody sees) before the admin's browser arrives. HEAD checks nothing and changes nothing.
    if (c.req.method === 'HEAD') {
      return errorResponse(c, 405, 'method_not_allowed', 'Open the consent callback with GET.', {
        Allow: 'GET',
      })
    }
    const back = (params: Record<string, string>) =>
      c.redirect(`${o.completePage}?${new URLSearchParams(params)}`, 303)
    const refuse = (code: string, message: string) => {
      o.logger.warn?.('onboarding: consent callback refused', { code })
      return back({ error: code, message })
    }
    // Stryker disable next-line StringLiteral: states are never bound to an empty session, so any stand-in mismatches alike
    const session = getCookie(c, o.cookieName) ?? ''
    let result: Awaited<ReturnType<typeof parseAdminConsentRedirect>>
    try {
      result = await parseAdminConsentRedirect(new URL(c.req.url).searchParams, {
        states: o.states,
        sessionId: session,
      })
    } catch (error) {
      if (!isCoreError(error)) throw error
      return refuse(error.code, error.message)
    }
    const flow = parseFlow(result.data, 'state')
    if (!flow) return refuse('INVALID_STATE', 'The consent state was not issued for onboarding: start again.')
    if (result.tenantId.toLowerCase() !== flow.tid) {
      return refuse(
        'TENANT_MISMATCH',
        'The consent was given in another tenant than yours: sign in as an administrator of your organization’s tenant and start again.',
      )
    }
    return back({ ticket: o.states.create(session, JSON.stringify({ ...flow, k: 'ticket' })) })
  })
}
