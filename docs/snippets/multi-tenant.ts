// The multi-tenant walkthrough's code: one token provider for the app, the tenant registry, the onboarding router
// (admin consent, provisioning, verification, offboarding, event log), and an API that serves each signed-in user
// their own org's data.
import {
  type Cloud,
  clientSecret,
  createConsentStateManager,
  createTenantDiscovery,
  createTokenProvider,
  createUserTokenVerifier,
} from '@dataverse-s2s/core'
import {
  createClientCache,
  type DataverseTenant,
  dataverseClient,
  dataverseErrorResponse,
  onboardingRouter,
  resolveTenant,
  verifyUser,
} from '@dataverse-s2s/hono'
import { openPgliteTenantRegistry } from '@dataverse-s2s/hono/pglite'
import { Hono } from 'hono'

export interface AppConfig {
  clientId: string
  clientSecret: string
  cloud: Cloud
  /** The emulator's CA; leave it out on Microsoft's cloud. */
  ca: string
  /** The app's public origin; `{publicUrl}/onboarding/callback` is its registered Web redirect URI. */
  publicUrl: string
  /** Key that signs the consent `state` (32+ random bytes from your secret store). */
  stateSecret: string
  /** The security role your solution installs in customer orgs. */
  roleName: string
  /** Folder of the embedded registry database; in memory without one. */
  registryDir?: string
}

export async function createMultiTenantApp(config: AppConfig) {
  const { clientId, cloud, ca } = config

  // #region tokens
  // One provider for the whole app: it holds tokens for every customer tenant, keyed by (tenant, org).
  const tokens = createTokenProvider({
    clientId,
    credential: clientSecret(config.clientSecret),
    cloud,
    http: { ca },
    consentRedirectUri: `${config.publicUrl}/onboarding/callback`,
  })
  // #endregion tokens

  // #region registry
  // The tenant registry: tenant id → org URL, status, who onboarded it, and an event log. Embedded PostgreSQL
  // (PGlite) here; the same SQL runs on a PostgreSQL server (createSqlTenantRegistry) when you scale out.
  const { registry } = await openPgliteTenantRegistry(
    config.registryDir ? { dataDir: config.registryDir } : {},
  )
  // #endregion registry

  // #region onboarding
  const verifierOptions = {
    audience: [clientId, `api://${clientId}`],
    cloud,
    http: { ca },
    requiredScopes: ['access_as_user'],
  }
  const clients = createClientCache({ tokens, client: { ca } })
  const app = new Hono()
  app.route(
    '/',
    onboardingRouter({
      registry,
      // Admins of tenants that are not onboarded yet sign in first: this verifier lets every tenant through, and the
      // router lets only administrators of their own tenant change anything.
      verifier: createUserTokenVerifier({ ...verifierOptions, isTenantAllowed: () => true }),
      tokens,
      discovery: createTenantDiscovery({ cloud, http: { ca } }),
      // The consent state's single use is recorded in the registry's database: it holds across instances.
      states: createConsentStateManager({
        secret: config.stateSecret,
        store: { consume: (id, expiresAt) => registry.consumeConsentState(id, expiresAt) },
      }),
      clients,
      client: { ca },
      clientId,
      cloud,
      publicUrl: config.publicUrl,
      roleName: config.roleName,
      verifyTables: ['accounts', 'contacts'],
    }),
  )
  // #endregion onboarding

  // #region api
  // The API. Users sign in to the SPA with msal-browser (authority `organizations`) and call it with a token for
  // the app's own scope; only users of verified tenants get in.
  const verifier = createUserTokenVerifier({
    ...verifierOptions,
    isTenantAllowed: async (tid) => (await registry.get(tid))?.status === 'verified',
  })
  app.use(
    '/api/accounts',
    verifyUser({ verifier }), // signature, issuer built from the token's own tid, audience, scope, tenant
    resolveTenant({
      lookup: async (tid): Promise<DataverseTenant | undefined> => {
        const t = await registry.get(tid)
        return t && { tenantId: t.tenantId, orgUrl: t.orgUrl, active: t.status === 'verified' }
      },
    }),
    dataverseClient({
      tokens,
      client: { ca },
      // "Act as me" (CallerObjectId = the verified oid): Dataverse applies what both the application user and that
      // user may do, the intersection of their privileges, never more than either.
      impersonate: (c) => c.req.header('x-act-as-me') === 'true',
    }),
  )

  app.get('/api/accounts', async (c) => {
    const page = await c.var.dataverse.query<{ accountid: string; name: string }>('accounts', {
      select: ['accountid', 'name'],
      orderBy: 'name',
      top: 10,
    })
    return c.json({ tenant: c.var.tenant.tenantId, actor: c.var.actor, accounts: page.value })
  })

  app.post('/api/accounts', async (c) => {
    const { name } = await c.req.json<{ name: string }>()
    const id = await c.var.dataverse.create('accounts', { name })
    return c.json({ id }, 201)
  })

  // Dataverse and token errors become answers that say what happened (403 dataverse_forbidden, 429 throttled, …),
  // never a raw Dataverse body or a stack trace.
  app.onError(
    (error, c) =>
      dataverseErrorResponse(error, c) ??
      c.json({ error: { code: 'internal', message: 'Unexpected error' } }, 500),
  )
  // #endregion api

  return { tokens, registry, api: app }
}
