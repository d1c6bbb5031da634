import { buildAdminConsentUrl, isCoreError } from '@dataverse-s2s/core'
import type { Hono, MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { errorResponse } from '../errors.ts'
import { type Flow, jsonBody, newSessionId, SESSION } from './flow-state.ts'
import { INTENTS, intentProblem, type OnboardingIntent } from './intent.ts'
import type { OnboardingContext } from './options.ts'

/** Step 1: a signed-in admin gives the org URL (and an intent); the answer is the admin-consent URL. */
export function startRoute(
  app: Hono,
  o: OnboardingContext,
  signedIn: MiddlewareHandler,
  admin: MiddlewareHandler,
  utf8: MiddlewareHandler,
) {
  app.post(`${o.basePath}/start`, signedIn, admin, utf8, async (c) => {
    const user = c.var.user
    const body = await jsonBody(c)
    if (!body) return errorResponse(c, 415, 'json_required', 'Send JSON: { "orgUrl": "https://…" }.')
    const orgUrl = typeof body.orgUrl === 'string' ? body.orgUrl.trim() : ''
    const intent = (body.intent ?? 'connect') as OnboardingIntent
    if (!orgUrl || orgUrl.length > 300) {
      return errorResponse(
        c,
        400,
        'org_url_required',
        'Enter your Dataverse org URL, e.g. https://contoso.crm.dynamics.com.',
      )
    }
    if (!INTENTS.includes(intent)) {
      return errorResponse(c, 400, 'invalid_intent', `intent must be one of ${INTENTS.join(', ')}.`)
    }
    let discovered: { tenantId: string; orgUrl: string }
    try {
      discovered = await o.discovery.discover(orgUrl)
    } catch (error) {
      o.logger.warn?.('onboarding: discovery failed', { code: isCoreError(error) ? error.code : 'unknown' })
      const why = isCoreError(error) ? error.message : 'The org could not be reached.'
      return errorResponse(
        c,
        400,
        'org_not_found',
        `${why} Check the URL (copy it from your Dynamics 365 app).`,
      )
    }
    if (discovered.tenantId.toLowerCase() !== user.tenantId) {
      return errorResponse(
        c,
        403,
        'org_in_other_tenant',
        'This org belongs to another tenant than yours: sign in as an administrator of the org’s tenant.',
      )
    }
    const existing = await o.registry.get(user.tenantId)
    const problem = intentProblem(existing, discovered.orgUrl, intent, body.confirm === true)
    if (problem) return errorResponse(c, 409, problem.code, problem.message)
    let session = getCookie(c, o.cookieName)
    if (!session || !SESSION.test(session)) {
      session = newSessionId()
      setCookie(c, o.cookieName, session, {
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        path: '/',
        maxAge: 3600,
      })
    }
    const flow: Flow = { k: 'state', tid: user.tenantId, oid: user.objectId, org: discovered.orgUrl, intent }
    const consentUrl = buildAdminConsentUrl({
      clientId: o.clientId,
      ...(o.cloud ? { cloud: o.cloud } : {}),
      tenant: user.tenantId,
      resource: discovered.orgUrl,
      redirectUri: o.redirectUri,
      state: o.states.create(session, JSON.stringify(flow)),
    })
    o.logger.info?.('onboarding: consent started', { tenantId: user.tenantId, intent })
    return c.json({ consentUrl, tenantId: user.tenantId, orgUrl: discovered.orgUrl, intent })
  })
}
