import { buildAdminConsentUrl, isCoreError, parseAdminConsentRedirect } from '@dataverse-s2s/core'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { errorResponse } from '../errors.ts'
import { INTENTS, intentProblem, type OnboardingIntent } from './intent.ts'
import type { OnboardingContext } from './options.ts'
import { publicTenant } from './public.ts'

/** What the signed state and ticket carry: the admin who started, their tenant, the org, and the intent. */
interface Flow {
  k: 'state' | 'ticket'
  tid: string
  oid: string
  org: string
  intent: OnboardingIntent
}

const SESSION = /^[A-Za-z0-9_-]{32,64}$/

function parseFlow(data: string | undefined, kind: Flow['k']): Flow | undefined {
  try {
    const f = JSON.parse(data ?? '') as Partial<Flow>
    if (f.k !== kind || !f.tid || !f.oid || !f.org || !INTENTS.includes(f.intent as OnboardingIntent)) return
    return f as Flow
  } catch {
    return undefined
  }
}

function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

async function jsonBody(c: Context): Promise<Record<string, unknown> | undefined> {
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json')) return undefined
  const body = (await c.req.json().catch(() => undefined)) as unknown
  return body && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined
}

/** Start (signed-in admin), callback (browser redirect, changes nothing), complete (signed-in admin + same browser). */
export function flowRoutes(
  app: Hono,
  o: OnboardingContext,
  signedIn: MiddlewareHandler,
  admin: MiddlewareHandler,
) {
  app.post(`${o.basePath}/start`, signedIn, admin, async (c) => {
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

  // A browser redirect from Entra ID: it carries no token, so it only checks the state (this browser, unexpired,
  // once) and the tenant, then hands the SPA a ticket that the signed-in admin must present to /complete.
  app.get(o.callbackPath, async (c) => {
    const back = (params: Record<string, string>) =>
      c.redirect(`${o.completePage}?${new URLSearchParams(params)}`, 303)
    const refuse = (code: string, message: string) => {
      o.logger.warn?.('onboarding: consent callback refused', { code })
      return back({ error: code, message })
    }
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

  app.post(`${o.basePath}/complete`, signedIn, admin, async (c) => {
    const user = c.var.user
    const body = await jsonBody(c)
    const ticket = typeof body?.ticket === 'string' ? body.ticket : ''
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
