// The multi-tenant walkthrough's code: one token provider for the app, a tenant registry, onboarding (discovery,
// admin consent, provisioning, verification), and an API that serves each signed-in user their own org's data.
import {
  buildAdminConsentUrl,
  type Cloud,
  clientSecret,
  createConsentStateManager,
  createTenantDiscovery,
  createTokenProvider,
  createUserTokenVerifier,
  parseAdminConsentRedirect,
} from '@dataverse-s2s/core'
import {
  type DataverseTenant,
  dataverseClient,
  dataverseErrorResponse,
  resolveTenant,
  verifyUser,
} from '@dataverse-s2s/hono'
import { createDataverseClient, ensureApplicationUser, verifyAccess } from '@dataverse-s2s/webapi'
import { Hono } from 'hono'

export interface AppConfig {
  clientId: string
  clientSecret: string
  cloud: Cloud
  /** The emulator's CA; leave it out on Microsoft's cloud. */
  ca: string
  /** Registered Web redirect URI of the admin-consent callback. */
  consentRedirectUri: string
  /** Key that signs the consent `state` (32+ random bytes from your secret store). */
  stateSecret: string
  /** The security role your solution installs in customer orgs. */
  roleName: string
}

export function createMultiTenantApp(config: AppConfig) {
  const { clientId, cloud, ca } = config

  // #region tokens
  // One provider for the whole app: it holds tokens for every customer tenant, keyed by (tenant, org).
  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(config.clientSecret),
    cloud,
    http: { ca },
    consentRedirectUri: config.consentRedirectUri,
  })
  // #endregion tokens

  // #region registry
  // Your tenant registry: tenant id → org URL and status. The sample keeps it in PostgreSQL (PGlite).
  type Status = 'consented' | 'verified' | 'offboarded'
  const registry = new Map<string, { tenantId: string; orgUrl: string; status: Status }>()
  // #endregion registry

  // #region connect
  const discovery = createTenantDiscovery({ cloud, http: { ca } })
  const states = createConsentStateManager({ secret: config.stateSecret, ttlMs: 10 * 60_000 })

  /** Step 1: the customer's admin typed their org URL; send them to admin consent in the org's own tenant. */
  async function startConnect(orgUrl: string, browserSessionId: string): Promise<string> {
    const { tenantId } = await discovery.discover(orgUrl) // from the org's 401 challenge, validated
    const state = states.create(browserSessionId, JSON.stringify({ orgUrl, tenantId }))
    return buildAdminConsentUrl({
      clientId,
      cloud,
      tenant: tenantId,
      redirectUri: config.consentRedirectUri,
      resource: orgUrl, // scope: {orgUrl}/.default
      state,
    })
  }
  // #endregion connect

  // #region callback
  /** Step 2: Entra ID redirected back to the consent callback. */
  async function finishConsent(callbackUrl: string, browserSessionId: string) {
    // Verifies the signed state (bound to this browser, single use, not expired), or throws a ConsentError.
    const result = await parseAdminConsentRedirect(new URL(callbackUrl), {
      states,
      sessionId: browserSessionId,
    })
    const started = JSON.parse(result.data ?? '{}') as { orgUrl: string; tenantId: string }
    // `tenant` in the redirect is a hint: it must be the tenant that owns the org we started with…
    if (result.tenantId !== started.tenantId)
      throw new Error('Consent was given in another tenant than the org’s')
    // …and an app-only token in that tenant proves that the consent exists.
    await tokens.getToken({ tenantId: started.tenantId, resource: started.orgUrl })
    registry.set(started.tenantId, { ...started, status: 'consented' })
    return started
  }
  // #endregion callback

  // #region provision
  /**
   * Step 3: create the application user with the admin's own delegated token for the org (from msal-browser,
   * scope `{orgUrl}/user_impersonation`), used for these calls and dropped. Then check everything as the app.
   */
  async function provision(tenantId: string, adminToken: string) {
    const tenant = registry.get(tenantId)
    if (!tenant) throw new Error('Connect the organization first')
    const asAdmin = createDataverseClient({ url: tenant.orgUrl, getToken: () => adminToken, ca })
    const created = await ensureApplicationUser(asAdmin, {
      applicationId: clientId,
      roles: [config.roleName],
    })

    const asApp = createDataverseClient({
      url: tenant.orgUrl,
      getToken: async (resource) => (await tokens.getToken({ tenantId, resource })).token,
      ca,
    })
    // WhoAmI as the app plus a read of each table; `expectedRoles` also checks roles if the role may read roles.
    const report = await verifyAccess(asApp, { readableEntitySets: ['accounts', 'contacts'] })
    if (report.ok) tenant.status = 'verified'
    return { created, report } // report.problems says what the admin must fix, in words
  }
  // #endregion provision

  // #region api
  // Step 4: the API. Users sign in to the SPA with msal-browser (authority `organizations`) and call it with a
  // token for the app's own scope.
  const verifier = createUserTokenVerifier({
    audience: [clientId, `api://${clientId}`],
    cloud,
    http: { ca },
    requiredScopes: ['access_as_user'],
    isTenantAllowed: (tid) => registry.get(tid)?.status === 'verified', // only onboarded customers
  })

  const api = new Hono()
  api.use(
    '/api/*',
    verifyUser({ verifier }), // signature, issuer built from the token's own tid, audience, scope, tenant
    resolveTenant({
      lookup: (tid): DataverseTenant | undefined => {
        const t = registry.get(tid)
        return t && { tenantId: t.tenantId, orgUrl: t.orgUrl, active: t.status === 'verified' }
      },
    }),
    dataverseClient({
      tokens,
      client: { ca },
      // "Act as me": Dataverse applies the user's own privileges (CallerObjectId = the verified oid).
      impersonate: (c) => c.req.header('x-act-as-me') === 'true',
    }),
  )

  api.get('/api/accounts', async (c) => {
    const page = await c.var.dataverse.query<{ accountid: string; name: string }>('accounts', {
      select: ['accountid', 'name'],
      orderBy: 'name',
      top: 10,
    })
    return c.json({ tenant: c.var.tenant.tenantId, actor: c.var.actor, accounts: page.value })
  })

  api.post('/api/accounts', async (c) => {
    const { name } = await c.req.json<{ name: string }>()
    const id = await c.var.dataverse.create('accounts', { name })
    return c.json({ id }, 201)
  })

  // Dataverse and token errors become answers that say what happened (403 dataverse_forbidden, 429 throttled, …),
  // never a raw Dataverse body or a stack trace.
  api.onError(
    (error, c) =>
      dataverseErrorResponse(error, c) ??
      c.json({ error: { code: 'internal', message: 'Unexpected error' } }, 500),
  )
  // #endregion api

  return { tokens, registry, startConnect, finishConsent, provision, api }
}
