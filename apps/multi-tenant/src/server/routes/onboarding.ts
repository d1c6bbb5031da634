import { randomBytes } from 'node:crypto'
import { buildAdminConsentUrl, isCoreError, parseAdminConsentRedirect } from '@dataverse-s2s/core'
import { errorResponse, verifyUser } from '@dataverse-s2s/hono'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import { type Context, Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { OnboardingError, provisionApplicationUser, verifyConnection } from '../provision.ts'
import type { TenantRecord } from '../registry/types.ts'
import type { Services } from '../services.ts'

/** The browser-session cookie that binds an admin-consent `state` to the browser that started it. */
export const SESSION_COOKIE = '__Host-dvs2s-session'

/** What a tenant admin sees about the connection (no secrets: ids, dates, the last check). */
export function publicTenant(t: TenantRecord) {
  return {
    tenantId: t.tenantId,
    orgUrl: t.orgUrl,
    status: t.status,
    onboardedByName: t.onboardedByName,
    consentedAt: t.consentedAt,
    provisionedAt: t.provisionedAt,
    verifiedAt: t.verifiedAt,
    offboardedAt: t.offboardedAt,
    lastCheck: t.lastCheckAt ? { at: t.lastCheckAt, ok: t.lastCheckOk, detail: t.lastCheckDetail } : null,
  }
}

/** Exact steps for admins who prefer to create the application user themselves. */
export function manualSteps(s: Services, orgUrl: string) {
  return [
    `Open the Power Platform admin center, pick the environment at ${orgUrl}, then Settings > Users + permissions > Application users.`,
    `Choose "+ New app user", "Add an app", and search for the application id ${s.clientId}.`,
    'Pick the root business unit of the environment.',
    `Under Security roles, choose "${s.config.roleName}" (it comes with the app's solution), then Create.`,
    'Come back here and press "Verify the connection".',
  ]
}

/** Onboarding: connect an org (admin consent), provision the application user, verify. */
export function onboardingRoutes(s: Services): Hono {
  const app = new Hono()
  const redirectUri = `${s.config.publicUrl}/onboarding/callback`
  const secure = true

  // Step 1: the admin gives the org URL; we find its tenant and send the admin to admin consent.
  app.post('/api/onboarding/start', async (c) => {
    if (!c.req.header('content-type')?.startsWith('application/json')) {
      return errorResponse(c, 415, 'json_required', 'Send the org URL as JSON: { "orgUrl": "https://…" }.')
    }
    const body = (await c.req.json().catch(() => undefined)) as { orgUrl?: unknown } | undefined
    const orgUrl = typeof body?.orgUrl === 'string' ? body.orgUrl.trim() : ''
    if (!orgUrl || orgUrl.length > 300) {
      return errorResponse(
        c,
        400,
        'org_url_required',
        'Enter your Dataverse org URL, e.g. https://contoso.crm.dynamics.com.',
      )
    }
    let discovered: Awaited<ReturnType<Services['discovery']['discover']>>
    try {
      discovered = await s.discovery.discover(orgUrl)
    } catch (error) {
      const message = isCoreError(error) ? error.message : 'The org could not be reached.'
      s.logger.warn('onboarding: discovery failed', { code: isCoreError(error) ? error.code : 'unknown' })
      return errorResponse(
        c,
        400,
        'org_not_found',
        `${message} Check the URL (copy it from the address bar of your Dynamics 365 app).`,
      )
    }
    let session = getCookie(c, SESSION_COOKIE)
    if (!session || !/^[A-Za-z0-9_-]{32,64}$/.test(session)) {
      session = randomBytes(32).toString('base64url')
      setCookie(c, SESSION_COOKIE, session, {
        httpOnly: true,
        secure,
        sameSite: 'Lax',
        path: '/',
        maxAge: 3600,
      })
    }
    const state = s.states.create(
      session,
      JSON.stringify({ orgUrl: discovered.orgUrl, tenantId: discovered.tenantId }),
    )
    const consentUrl = buildAdminConsentUrl({
      clientId: s.clientId,
      cloud: s.cloud,
      tenant: discovered.tenantId,
      resource: discovered.orgUrl,
      redirectUri,
      state,
    })
    s.logger.info('onboarding: consent started', { tenantId: discovered.tenantId })
    return c.json({ consentUrl, tenantId: discovered.tenantId, orgUrl: discovered.orgUrl })
  })

  // Step 2: Entra ID sends the admin back here after consent.
  app.get('/onboarding/callback', async (c) => {
    const back = (params: Record<string, string>) =>
      c.redirect(`/#/onboarding?${new URLSearchParams(params)}`, 303)
    const session = getCookie(c, SESSION_COOKIE) ?? ''
    let result: Awaited<ReturnType<typeof parseAdminConsentRedirect>>
    try {
      result = await parseAdminConsentRedirect(new URL(c.req.url).searchParams, {
        states: s.states,
        sessionId: session,
      })
    } catch (error) {
      const code = isCoreError(error) ? error.code : 'INVALID_CALLBACK'
      s.logger.warn('onboarding: consent callback refused', { code })
      return back({
        error: code,
        message: isCoreError(error) ? error.message : 'The consent did not complete.',
      })
    }
    const started = JSON.parse(result.data ?? '{}') as { orgUrl?: string; tenantId?: string }
    if (!started.orgUrl || started.tenantId !== result.tenantId) {
      s.logger.warn('onboarding: consent from another tenant than the org’s', { tenantId: result.tenantId })
      return back({
        error: 'TENANT_MISMATCH',
        message:
          'You consented in another tenant than the one that owns the org: sign in with an admin of the org’s tenant and start again.',
      })
    }
    // The `tenant` parameter is only a hint: prove the consent by getting an app-only token for that org.
    try {
      await s.tokens.getToken({ tenantId: result.tenantId, resource: started.orgUrl })
    } catch (error) {
      s.logger.warn('onboarding: no app-only token after consent', {
        code: isCoreError(error) ? error.code : 'unknown',
      })
      return back({
        error: 'CONSENT_NOT_EFFECTIVE',
        message:
          'The app still cannot get a token in your tenant: give the admin consent again (it can take a minute to apply).',
      })
    }
    await s.registry.recordConsent({ tenantId: result.tenantId, orgUrl: started.orgUrl })
    s.logger.info('onboarding: consent recorded', { tenantId: result.tenantId })
    return back({ tenant: result.tenantId, step: 'provision' })
  })

  // Steps 3 and 4 need a signed-in user of the tenant being onboarded (any status but offboarded).
  const signedIn = verifyUser({ verifier: s.verifier })
  const onboardingTenant = async (tid: string) => {
    const t = await s.registry.get(tid)
    return t && t.status !== 'offboarded' ? t : undefined
  }

  app.get('/api/onboarding/status', signedIn, async (c) => {
    const t = await onboardingTenant(c.var.user.tenantId)
    if (!t)
      return errorResponse(
        c,
        404,
        'not_onboarding',
        'Your organization has not given admin consent yet: connect it first.',
      )
    return c.json({
      tenant: publicTenant(t),
      appId: s.clientId,
      roleName: s.config.roleName,
      manualSteps: manualSteps(s, t.orgUrl),
    })
  })

  // Automatic set-up with the admin's own delegated token for the org (from msal-browser). The token is used for
  // these few requests and dropped: never stored, never logged.
  app.post('/api/onboarding/provision', signedIn, async (c) => {
    const user = c.var.user
    const t = await onboardingTenant(user.tenantId)
    if (!t)
      return errorResponse(
        c,
        404,
        'not_onboarding',
        'Your organization has not given admin consent yet: connect it first.',
      )
    const body = (await c.req.json().catch(() => undefined)) as { dataverseToken?: unknown } | undefined
    const adminToken = typeof body?.dataverseToken === 'string' ? body.dataverseToken : ''
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(adminToken)) {
      return errorResponse(
        c,
        400,
        'dataverse_token_required',
        'Sign in to your org first: the set-up needs your own token for the org.',
      )
    }
    const admin = createDataverseClient({
      url: t.orgUrl,
      getToken: () => adminToken,
      retry: false,
      ...(s.ca ? { ca: s.ca } : {}),
    })
    try {
      const done = await provisionApplicationUser(admin, { appId: s.clientId, roleName: s.config.roleName })
      await s.registry.markProvisioned(t.tenantId, { objectId: user.objectId, name: user.name })
      s.logger.info('onboarding: application user provisioned', {
        tenantId: t.tenantId,
        created: done.created,
      })
    } catch (error) {
      if (error instanceof OnboardingError) {
        s.logger.warn('onboarding: provisioning failed', { tenantId: t.tenantId, code: error.code })
        return errorResponse(c, 409, error.code.toLowerCase(), error.message)
      }
      throw error
    }
    return check(c, t.tenantId, { objectId: user.objectId, name: user.name })
  })

  app.post('/api/onboarding/verify', signedIn, async (c) => {
    const t = await onboardingTenant(c.var.user.tenantId)
    if (!t)
      return errorResponse(
        c,
        404,
        'not_onboarding',
        'Your organization has not given admin consent yet: connect it first.',
      )
    return check(c, t.tenantId, { objectId: c.var.user.objectId, name: c.var.user.name })
  })

  async function check(c: Context, tenantId: string, by: { objectId: string; name: string | undefined }) {
    const result = await runCheck(s, tenantId, by)
    const t = result.tenant
    if (!result.ok) return errorResponse(c, 409, result.code, result.detail)
    return c.json({ tenant: publicTenant(t) })
  }

  return app
}

/** WhoAmI and a read as the app; records the outcome on the tenant. */
export async function runCheck(
  s: Services,
  tenantId: string,
  by?: { objectId: string; name: string | undefined },
): Promise<{ ok: boolean; code: string; detail: string; tenant: TenantRecord }> {
  const t = await s.registry.get(tenantId)
  if (!t) throw new Error('unknown tenant')
  const client = s.clients.get(t.tenantId, t.orgUrl)
  try {
    const detail = await verifyConnection(client)
    const tenant = await s.registry.recordCheck(t.tenantId, { ok: true, detail }, by)
    s.logger.info('connection verified', { tenantId: t.tenantId })
    return { ok: true, code: 'ok', detail, tenant }
  } catch (error) {
    if (!(error instanceof OnboardingError)) throw error
    const tenant = await s.registry.recordCheck(t.tenantId, { ok: false, detail: error.message }, by)
    s.logger.warn('connection check failed', { tenantId: t.tenantId, code: error.code })
    return { ok: false, code: error.code.toLowerCase(), detail: error.message, tenant }
  }
}
