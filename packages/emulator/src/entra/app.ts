import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { MAX_ENTRA_BODY_BYTES } from '../body-limit.ts'
import type { Counters, Faults } from '../faults.ts'
import type { World } from '../world/world.ts'
import { AadError, aad } from './aad-error.ts'
import {
  assertionAudiences,
  authenticateConfidentialClient,
  type ClientAuth,
  presentedCredentials,
  ReplayCache,
} from './client-auth.ts'
import { DEVICE_CODE_GRANT, registerDeviceCode } from './device-code.ts'
import {
  answerIdentityRequest,
  isFederatedAssertion,
  ManagedIdentityRegistry,
  verifyFederatedAssertion,
} from './managed-identity.ts'
import { homePage } from './pages.ts'
import { resolveTenant, type TenantRef } from './tenant-ref.ts'
import { registerUserFlows, type UserFlowState } from './user-flows.ts'

/** Mutable per-server state of the Entra endpoints (replay cache, codes, refresh tokens, sign-in sessions). */
export interface EntraState extends UserFlowState {
  replay: ReplayCache
  /** Lifetime of app-only (client credentials) access tokens; Entra's default is about an hour. */
  appTokenLifetimeSeconds: number
  /** Managed identities and federated identity credentials (see managed-identity.ts). */
  managedIdentities: ManagedIdentityRegistry
}

/** Entra ID's usual lifetime of an app-only access token (60-90 minutes; `expires_in` 3599). */
export const DEFAULT_APP_TOKEN_LIFETIME_SECONDS = 3599

export function createEntraState(appTokenLifetimeSeconds = DEFAULT_APP_TOKEN_LIFETIME_SECONDS): EntraState {
  return {
    replay: new ReplayCache(),
    codes: new Map(),
    refreshTokens: new Map(),
    sessions: new Map(),
    appTokenLifetimeSeconds,
    managedIdentities: new ManagedIdentityRegistry(),
  }
}

export interface EntraAppOptions {
  world: World
  faults: Faults
  counters: Counters
  state: EntraState
}

/**
 * RFC 6749 §3.2: request parameters must not be included more than once. Entra answers a repeated `client_id` with
 * AADSTS90011 ("Request is ambiguous, multiple application identifiers found", Token Issuance Endpoint Errors).
 */
function refuseRepeatedParameters(form: URLSearchParams): void {
  const seen = new Set<string>()
  for (const [name] of form) {
    if (!seen.has(name)) {
      seen.add(name)
      continue
    }
    if (name === 'client_id') {
      const ids = form.getAll('client_id').map((v) => v.slice(0, 60))
      throw aad.invalidRequest(
        90011,
        `Request is ambiguous, multiple application identifiers found. Application identifiers: '${ids.join(', ')}'.`,
      )
    }
    throw aad.invalidRequest(90100, `The request parameter '${name.slice(0, 60)}' is repeated; send it once.`)
  }
}

/** The Hono app of the emulated Entra ID (metadata, keys, token, authorize, logout, admin consent). */
export function createEntraApp(options: EntraAppOptions): Hono {
  const { world, counters, state } = options
  const app = new Hono()
  const A = () => world.authorityUrl

  // Bodies are bounded before anything reads them: a declared oversize one is refused at once, one without a length
  // is counted as it streams (hono's bodyLimit).
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_ENTRA_BODY_BYTES,
      onError: (c) => {
        c.header('Connection', 'close')
        return aad.tooLarge(MAX_ENTRA_BODY_BYTES).respond(c, A())
      },
    }),
  )
  // msal-browser reads metadata and redeems codes with cross-origin fetch (no credentials), as Entra allows.
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      exposeHeaders: ['client-request-id', 'x-ms-request-id', 'Retry-After'],
      maxAge: 86400,
    }),
  )
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/_emulator')) return next()
    return options.faults.middleware('entra')(c, next)
  })
  app.use('*', async (c, next) => {
    await next()
    c.header('x-ms-request-id', crypto.randomUUID())
    const rid = c.req.header('client-request-id')
    if (rid) c.header('client-request-id', rid)
    c.header('Cache-Control', c.res.headers.get('Cache-Control') ?? 'no-store, no-cache')
  })

  app.onError((err, c) => {
    if (err instanceof AadError) return err.respond(c, A())
    console.error('[emulator] Entra endpoint failed:', err instanceof Error ? err.message : err)
    return new AadError(
      500,
      'server_error',
      90033,
      'A transient error has occurred. Please try again.',
    ).respond(c, A())
  })

  const tenantOr404 = (segment: string): TenantRef => {
    const ref = resolveTenant(world, segment)
    if (!ref) throw aad.unknownTenant(segment)
    return ref
  }

  app.get('/', (c) =>
    c.html(
      homePage({
        authorityUrl: A(),
        tenants: [...world.tenants.values()],
        orgs: [...world.orgs.values()],
        apps: [...world.apps.values()],
        users: [...world.users.values()],
      }),
    ),
  )

  // ---- instance discovery (MSAL calls it only for unknown hosts; served for completeness and for other clients)
  app.get('/common/discovery/instance', (c) => {
    const host = new URL(A()).host
    return c.json({
      tenant_discovery_endpoint: `${A()}/common/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    })
  })

  // ---- OpenID Connect metadata, v2 and v1
  app.get('/:tenant/v2.0/.well-known/openid-configuration', (c) => {
    const ref = tenantOr404(c.req.param('tenant'))
    const seg = ref.kind === 'tenant' ? ref.tenant.id : ref.segment
    const issuer = ref.kind === 'tenant' ? world.v2Issuer(ref.tenant.id) : `${A()}/{tenantid}/v2.0`
    return c.json(
      {
        token_endpoint: `${A()}/${seg}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${A()}/${seg}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${A()}/oidc/userinfo`,
        authorization_endpoint: `${A()}/${seg}/oauth2/v2.0/authorize`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${A()}/${seg}/oauth2/v2.0/logout`,
        claims_supported: [
          'sub',
          'iss',
          'aud',
          'exp',
          'iat',
          'auth_time',
          'acr',
          'nonce',
          'preferred_username',
          'name',
          'tid',
          'ver',
          'at_hash',
          'c_hash',
          'email',
        ],
        tenant_region_scope: 'NA',
        cloud_instance_name: new URL(A()).host,
        cloud_graph_host_name: new URL(A()).host,
        msgraph_host: new URL(A()).host,
      },
      200,
      { 'Cache-Control': 'max-age=86400, private' },
    )
  })

  app.get('/:tenant/.well-known/openid-configuration', (c) => {
    const ref = tenantOr404(c.req.param('tenant'))
    const seg = ref.kind === 'tenant' ? ref.tenant.id : ref.segment
    const issuer = ref.kind === 'tenant' ? world.v1Issuer(ref.tenant.id) : `${A()}/{tenantid}/`
    return c.json(
      {
        token_endpoint: `${A()}/${seg}/oauth2/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${A()}/${seg}/discovery/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
        scopes_supported: ['openid'],
        issuer,
        microsoft_multi_refresh_token: true,
        authorization_endpoint: `${A()}/${seg}/oauth2/authorize`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${A()}/${seg}/oauth2/logout`,
        claims_supported: [
          'sub',
          'iss',
          'aud',
          'exp',
          'iat',
          'auth_time',
          'acr',
          'amr',
          'nonce',
          'email',
          'name',
          'oid',
          'tid',
          'upn',
          'unique_name',
          'ver',
        ],
        check_session_iframe: `${A()}/${seg}/oauth2/checksession`,
        userinfo_endpoint: `${A()}/${seg}/openid/userinfo`,
        tenant_region_scope: 'NA',
        cloud_instance_name: new URL(A()).host,
      },
      200,
      { 'Cache-Control': 'max-age=86400, private' },
    )
  })

  // ---- JWKS (the same keys for every tenant, with Entra's per-key issuer template)
  const keys = (version: 'v1' | 'v2') => (c: import('hono').Context) => {
    const segment = c.req.param('tenant') ?? 'common'
    tenantOr404(segment)
    return c.json(
      world.signingKeys.jwks(version === 'v2' ? `${A()}/{tenantid}/v2.0` : `${A()}/{tenantid}/`),
      200,
      {
        'Cache-Control': 'max-age=86400, private',
      },
    )
  }
  app.get('/:tenant/discovery/v2.0/keys', keys('v2'))
  app.get('/:tenant/discovery/keys', keys('v1'))
  app.get('/discovery/keys', keys('v1'))

  // ---- token endpoint
  const token = (version: 'v1' | 'v2') => async (c: import('hono').Context) => {
    const segment = c.req.param('tenant') ?? ''
    const type = c.req.header('content-type') ?? ''
    const form = type.includes('application/x-www-form-urlencoded')
      ? new URLSearchParams(await c.req.text())
      : new URLSearchParams()
    const grant = form.get('grant_type') ?? ''
    const ref = resolveTenant(world, segment)
    const countTenant = ref?.kind === 'tenant' ? ref.tenant.id : segment
    try {
      refuseRepeatedParameters(form)
      if (!ref) throw aad.unknownTenant(segment)
      if (!grant) throw aad.missingParameter('grant_type')
      const body = await dispatchGrant(version, grant, ref, form, c)
      counters.tokenRequest(countTenant, grant, 'success')
      return c.json(body, 200, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' })
    } catch (err) {
      if (err instanceof AadError) {
        counters.tokenRequest(countTenant, grant || 'none', err.error)
        return err.respond(c, A())
      }
      throw err
    }
  }

  async function dispatchGrant(
    version: 'v1' | 'v2',
    grant: string,
    ref: TenantRef,
    form: URLSearchParams,
    c: import('hono').Context,
  ): Promise<Record<string, unknown>> {
    switch (grant) {
      case 'client_credentials':
        return clientCredentials(version, ref, form, c)
      case 'authorization_code':
      case 'refresh_token':
        return userFlows.redeem(version, grant, ref, form, c)
      case DEVICE_CODE_GRANT:
        return deviceCode.redeem(version, ref, form, c)
      default:
        throw aad.unsupportedGrant(grant)
    }
  }

  async function clientCredentials(
    version: 'v1' | 'v2',
    ref: TenantRef,
    form: URLSearchParams,
    c: import('hono').Context,
  ): Promise<Record<string, unknown>> {
    if (ref.kind !== 'tenant') throw aad.noTenantInfo()
    const tenant = ref.tenant
    const creds = presentedCredentials(form, c.req.header('authorization'))
    if (!creds.clientId) throw aad.missingParameter('client_id')
    const registration = world.getApp(creds.clientId)
    if (!registration || !world.getServicePrincipal(tenant.id, registration.appId))
      throw aad.appNotFound(creds.clientId, tenant.displayName)
    // A managed identity's token as the client assertion (workload identity federation): trusted through a FIC.
    const federated =
      creds.clientAssertion !== undefined &&
      isFederatedAssertion(world, state.managedIdentities, registration.appId, creds.clientAssertion)
    if (federated)
      await verifyFederatedAssertion(
        world,
        state.managedIdentities,
        registration.appId,
        creds.clientAssertion!,
      )
    const auth: ClientAuth = federated
      ? { method: 'certificate', acr: 2 }
      : await authenticateConfidentialClient(
          registration,
          creds,
          assertionAudiences(A(), tenant, ref.segment),
          state.replay,
        )
    let resource: string
    if (version === 'v1') {
      const r = form.get('resource')
      if (!r) throw aad.missingParameter('resource')
      resource = r
    } else {
      const scope = form.get('scope')
      if (!scope) throw aad.missingParameter('scope')
      const scopes = scope.split(' ').filter(Boolean)
      const main = scopes.find((s) => s.endsWith('/.default'))
      if (!main) throw aad.scopeNotDefault(scope)
      // A token is for one resource: two resources' /.default in one request is AADSTS70011 (as reported on
      // learn.microsoft.com/answers, "MsalServiceException when retrieving tokens").
      if (new Set(scopes.filter((s) => s.endsWith('/.default'))).size > 1) throw aad.invalidScope(scope)
      resource = main.slice(0, -'/.default'.length)
    }
    const resolved = world.resolveResource(resource)
    if (!resolved) throw aad.unknownResource(resource, tenant.displayName)
    if (resolved.kind === 'api' && !world.getServicePrincipal(tenant.id, resolved.app.appId))
      throw aad.unknownResource(resource, tenant.displayName)
    const lifetime = state.appTokenLifetimeSeconds
    const accessToken = await world.mintAppToken({
      tenantId: tenant.id,
      appId: registration.appId,
      resource,
      credentialType: auth.acr === 2 ? 2 : 1,
      lifetimeSeconds: lifetime,
    })
    if (version === 'v1') {
      const now = Math.floor(world.clock.now() / 1000)
      return {
        token_type: 'Bearer',
        expires_in: String(lifetime),
        ext_expires_in: String(lifetime),
        expires_on: String(now + lifetime),
        not_before: String(now),
        resource,
        access_token: accessToken,
      }
    }
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken }
  }

  app.get('/msi/token', (c) =>
    answerIdentityRequest(
      world,
      state.managedIdentities,
      'appService',
      new URL(c.req.url),
      c.req.raw.headers,
    ),
  )
  app.get('/metadata/identity/oauth2/token', (c) =>
    answerIdentityRequest(world, state.managedIdentities, 'imds', new URL(c.req.url), c.req.raw.headers),
  )

  app.post('/:tenant/oauth2/v2.0/token', token('v2'))
  app.post('/:tenant/oauth2/token', token('v1'))
  const postOnly = (c: import('hono').Context) =>
    new AadError(
      405,
      'invalid_request',
      900561,
      'The endpoint only accepts POST, OPTIONS requests. Received a GET request.',
    ).respond(c, A())
  app.get('/:tenant/oauth2/v2.0/token', postOnly)
  app.get('/:tenant/oauth2/token', postOnly)

  const userFlows = registerUserFlows(app, { world, state, resolveTenant: (s) => resolveTenant(world, s) })
  const deviceCode = registerDeviceCode(app, {
    world,
    state,
    userFlows,
    resolveTenant: (s) => resolveTenant(world, s),
    now: () => world.clock.now(),
  })

  return app
}
