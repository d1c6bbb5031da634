import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  LogLevel,
  ManagedIdentityApplication,
  type ManagedIdentityConfiguration,
} from '@azure/msal-node'
import { type Cloud, type CloudInput, resolveCloud } from './clouds.ts'
import { buildAdminConsentUrl } from './consent.ts'
import { type Credential, prepareCertificate, tokenExchangeAudience } from './credentials.ts'
import { TokenError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import { toTokenError } from './internal/aadsts.ts'
import { createMsalNetworkModule } from './internal/msal-network.ts'
import { type Logger, redact, safeLogger } from './logger.ts'
import { createTokenTelemetry, type TelemetryOptions, traceAcquisition } from './telemetry.ts'
import {
  type AccessToken,
  type CachedToken,
  type RefreshOptions,
  type SecondLevelCache,
  TokenCache,
  type TokenCacheStats,
  type TokenSource,
} from './token-cache.ts'

/** Options of {@link createTokenProvider}. */
export interface TokenProviderOptions {
  /** The app registration's application (client) id. */
  clientId: string
  /** How the app authenticates: {@link clientSecret}, {@link clientCertificate}, {@link clientAssertion}, {@link managedIdentity}. */
  credential: Credential
  /** The cloud (default `public`); a custom cloud (e.g. the emulator) in one object. */
  cloud?: CloudInput
  /** Tenant used when a request names none (single-tenant apps). Default: none, every request must name one. */
  tenantId?: string
  /** Where to report cache misses, refreshes and failures (default: silent). Never receives secrets or tokens. */
  logger?: Logger
  cache?: {
    /** Tokens kept in memory, least recently used out first (default 10,000). */
    maxEntries?: number
    /** A shared second-level cache (default: none; the in-memory cache is the only level). */
    store?: SecondLevelCache
  }
  refresh?: RefreshOptions
  /** Extra trusted CAs (the emulator's) and the per-request time limit (default 10 s). */
  http?: HttpOptions
  /** Registered redirect URI put into the admin-consent URL of `APP_NOT_FOUND_IN_TENANT` errors. */
  consentRedirectUri?: string
  /**
   * Replaces MSAL's transport (advanced: in-process tests, proxies, telemetry). Default: node:https with `http`.
   */
  networkClient?: INetworkModule
  /** Clock for tests (default `Date.now`). */
  now?: () => number
  /**
   * OpenTelemetry tracer and meter (`trace.getTracer('my-app')`, `metrics.getMeter('my-app')`): cache hit/miss and
   * refresh counters, token request duration, a CLIENT span per request to Entra ID (never per cache hit).
   * Tenant ids and org URLs are recorded; tokens, secrets and assertions never are. Default: none, nothing recorded.
   */
  telemetry?: TelemetryOptions
}

/** What {@link TokenProvider.getToken} takes. */
export interface TokenRequest {
  /** The customer's tenant (GUID or verified domain); `common`/`organizations` are refused. */
  tenantId?: string
  /** The org URL, e.g. `https://contoso.crm.dynamics.com`; the scope is `{resource}/.default`. */
  resource: string
}

/** App-only tokens for many tenants: see {@link createTokenProvider}. */
export interface TokenProvider {
  /**
   * An app-only token for `resource` in `tenantId`, from memory when valid (O(1) whatever the number of tenants);
   * concurrent callers of a cold key share one token request; tokens are refreshed in the background before they
   * expire.
   * @throws TokenError e.g. `INVALID_TENANT`, `APP_NOT_FOUND_IN_TENANT`, `INVALID_CLIENT_SECRET`, `TENANT_NOT_FOUND`
   */
  getToken(request: TokenRequest): Promise<AccessToken>
  /** Forgets the cached token of one key (e.g. after Dataverse answered 401 to it). */
  invalidate(request: TokenRequest): void
  /** Cache counters. */
  stats(): TokenCacheStats
  readonly clientId: string
  readonly cloud: Cloud
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i
const MULTI = new Set(['common', 'organizations', 'consumers'])
const HAS_UPPER = /[A-Z]/

function checkTenant(tenantId: string | undefined): string {
  if (tenantId === undefined || tenantId === '') {
    throw new TokenError(
      'INVALID_TENANT',
      'No tenant: pass the tenantId of the customer that owns the org (discoverTenant(orgUrl) finds it), or set a default tenantId on the provider',
    )
  }
  // lower-case only when needed: keeps the caller's string, whose hash V8 has cached, as the lookup key
  const t = HAS_UPPER.test(tenantId) ? tenantId.toLowerCase() : tenantId
  if (MULTI.has(t)) {
    // msal #5567: client credentials against common/organizations give a token for no tenant in particular.
    throw new TokenError(
      'INVALID_TENANT',
      `"${t}" names no tenant, and app-only tokens must come from the tenant that owns the org: pass that tenant's id (discoverTenant(orgUrl) finds it)`,
    )
  }
  if (!GUID.test(t) && !DOMAIN.test(t)) {
    throw new TokenError('INVALID_TENANT', 'The tenantId must be a tenant GUID or a verified domain name')
  }
  return t
}

function normaliseResource(resource: string): string {
  let url: URL
  try {
    url = new URL(resource)
  } catch {
    throw new TokenError(
      'INVALID_RESOURCE',
      'The resource must be an org URL such as https://contoso.crm.dynamics.com',
    )
  }
  if (url.protocol !== 'https:') {
    throw new TokenError(
      'INVALID_RESOURCE',
      'The resource must be an https org URL such as https://contoso.crm.dynamics.com',
    )
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TokenError(
      'INVALID_RESOURCE',
      'The resource must be a plain org URL without credentials, query or fragment',
    )
  }
  return url.origin
}

function authorityMetadata(cloud: Cloud): string {
  const h = cloud.authorityHost
  return JSON.stringify({
    token_endpoint: `${h}/{tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${h}/{tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${h}/{tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${h}/{tenant}/discovery/v2.0/keys`,
    issuer: `${h}/{tenant}/v2.0`,
  })
}

function transportErrorOf(
  error: unknown,
  network: { takeError(id: string | undefined): Error | undefined } | undefined,
): { transportError?: Error } {
  const id = (error as { correlationId?: string } | undefined)?.correlationId
  const found = network?.takeError(id)
  return found ? { transportError: found } : {}
}

interface Source {
  acquire: TokenSource
  secrets: () => readonly string[]
}

function toCached(result: AuthenticationResult | null, now: number): CachedToken {
  if (!result?.accessToken) throw new TokenError('TOKEN_REQUEST_FAILED', 'MSAL returned no access token')
  const cached: CachedToken = {
    token: result.accessToken,
    expiresOn: result.expiresOn ? result.expiresOn.getTime() : now + 3_600_000,
  }
  if (result.refreshOn) cached.refreshOn = result.refreshOn.getTime()
  return cached
}

/**
 * Creates an app-only (client credentials) token provider for many tenants. It wraps one MSAL
 * `ConfidentialClientApplication` (or `ManagedIdentityApplication`) and puts in front of it an O(1), bounded,
 * single-flight cache keyed by (cloud, tenant, client, resource) that refreshes ahead of expiry.
 * @param options - see {@link TokenProviderOptions}
 * @throws TokenError `INVALID_OPTIONS` or `INVALID_CREDENTIAL` (e.g. a certificate whose key does not match) at once
 * @example
 * const tokens = createTokenProvider({ clientId, credential: clientSecret(process.env.CLIENT_SECRET!) })
 * const { token } = await tokens.getToken({ tenantId, resource: 'https://contoso.crm.dynamics.com' })
 */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const { clientId, credential } = options
  if (!clientId || !GUID.test(clientId)) {
    throw new TokenError(
      'INVALID_OPTIONS',
      'clientId must be the app registration’s application (client) id, a GUID',
    )
  }
  if (!credential || typeof credential !== 'object' || !('kind' in credential)) {
    throw new TokenError(
      'INVALID_OPTIONS',
      'credential is required: clientSecret(...), clientCertificate(...), clientAssertion(...) or managedIdentity()',
    )
  }
  const cloud = resolveCloud(options.cloud)
  const now = options.now ?? Date.now
  const defaultTenant = options.tenantId !== undefined ? checkTenant(options.tenantId) : undefined
  const recentAssertions: string[] = []
  const secretList = (): readonly string[] =>
    credential.kind === 'secret' ? [credential.secret, ...recentAssertions] : recentAssertions
  const log = safeLogger(options.logger, secretList)
  const ownNetwork = options.networkClient ? undefined : createMsalNetworkModule(options.http ?? {})
  const networkClient = options.networkClient ?? (ownNetwork as INetworkModule)
  const loggerOptions = {
    piiLoggingEnabled: false,
    logLevel: LogLevel.Warning,
    loggerCallback: (level: LogLevel, message: string, containsPii: boolean) => {
      if (containsPii) return
      if (level === LogLevel.Error) log.error(`msal: ${message}`)
      else if (level === LogLevel.Warning) log.warn(`msal: ${message}`)
    },
  }
  const consentUrl = (tenantId: string, resource: string) =>
    buildAdminConsentUrl({
      clientId,
      cloud,
      tenant: tenantId,
      resource,
      ...(options.consentRedirectUri ? { redirectUri: options.consentRedirectUri } : {}),
    })

  let source: Source
  if (credential.kind === 'managedIdentity') {
    const config: ManagedIdentityConfiguration = { system: { networkClient, loggerOptions } }
    const ids = {
      ...(credential.clientId ? { userAssignedClientId: credential.clientId } : {}),
      ...(credential.resourceId ? { userAssignedResourceId: credential.resourceId } : {}),
      ...(credential.objectId ? { userAssignedObjectId: credential.objectId } : {}),
    }
    if (Object.keys(ids).length > 1) {
      throw new TokenError(
        'INVALID_OPTIONS',
        'A user-assigned managed identity is named by one id: clientId, resourceId or objectId',
      )
    }
    if (Object.keys(ids).length === 1) config.managedIdentityIdParams = ids
    let mi: ManagedIdentityApplication | undefined
    source = {
      secrets: () => [],
      acquire: async ({ resource }) => {
        mi ??= new ManagedIdentityApplication(config)
        const result = await mi.acquireToken({ resource, forceRefresh: true })
        return toCached(result, now())
      },
    }
  } else {
    const auth: Configuration['auth'] = { clientId, authority: `${cloud.authorityHost}/organizations` }
    if (cloud.custom) {
      auth.knownAuthorities = [new URL(cloud.authorityHost).host]
      auth.authorityMetadata = authorityMetadata(cloud)
    }
    switch (credential.kind) {
      case 'secret':
        if (typeof credential.secret !== 'string' || credential.secret.length === 0) {
          throw new TokenError(
            'INVALID_CREDENTIAL',
            'The client secret is empty: pass the secret Value from the app registration',
          )
        }
        auth.clientSecret = credential.secret
        break
      case 'certificate': {
        const cert = prepareCertificate(credential, new Date(now()))
        auth.clientCertificate = {
          thumbprintSha256: cert.thumbprintSha256,
          privateKey: cert.privateKeyPkcs8,
          ...(cert.x5c ? { x5c: cert.x5c } : {}),
        }
        const daysLeft = (cert.notAfter.getTime() - now()) / 86_400_000
        if (daysLeft < 30) {
          log.warn('the client certificate expires soon; upload a new one to the app registration', {
            subject: cert.subject,
            notAfter: cert.notAfter.toISOString(),
          })
        }
        break
      }
      case 'assertion':
        if (typeof credential.getAssertion !== 'function') {
          throw new TokenError(
            'INVALID_CREDENTIAL',
            'clientAssertion needs a function that returns a signed JWT',
          )
        }
        auth.clientAssertion = async (config) => {
          const assertion = await credential.getAssertion({
            clientId: config.clientId,
            ...(config.tokenEndpoint ? { tokenEndpoint: config.tokenEndpoint } : {}),
          })
          if (typeof assertion !== 'string' || assertion.length === 0) {
            throw new TokenError('INVALID_CREDENTIAL', 'The client assertion callback returned no assertion')
          }
          recentAssertions.unshift(assertion)
          recentAssertions.length = Math.min(recentAssertions.length, 8)
          return assertion
        }
        break
      case 'managedIdentityFederation': {
        if (credential.clientId !== undefined && !GUID.test(credential.clientId)) {
          throw new TokenError(
            'INVALID_OPTIONS',
            'managedIdentityFederation({ clientId }) takes the client id (a GUID) of the user-assigned managed identity',
          )
        }
        const miConfig: ManagedIdentityConfiguration = { system: { networkClient, loggerOptions } }
        if (credential.clientId)
          miConfig.managedIdentityIdParams = { userAssignedClientId: credential.clientId }
        const audience = credential.audience ?? tokenExchangeAudience(cloud.name)
        let mi: ManagedIdentityApplication | undefined
        // MSAL's managed-identity cache keeps the MI token until shortly before it expires, so the identity
        // endpoint is called once per MI token, not once per app token (tested with a counting endpoint).
        auth.clientAssertion = async () => {
          mi ??= new ManagedIdentityApplication(miConfig)
          let result: Awaited<ReturnType<ManagedIdentityApplication['acquireToken']>>
          try {
            result = await mi.acquireToken({ resource: audience })
          } catch (error) {
            throw toManagedIdentityError(error, recentAssertions)
          }
          recentAssertions.unshift(result.accessToken)
          recentAssertions.length = Math.min(recentAssertions.length, 8)
          return result.accessToken
        }
        break
      }
      default:
        throw new TokenError('INVALID_OPTIONS', 'Unknown credential kind')
    }
    const cca = new ConfidentialClientApplication({ auth, system: { networkClient, loggerOptions } })
    let inFlight = 0
    source = {
      secrets: secretList,
      acquire: async ({ tenantId, resource }) => {
        inFlight++
        try {
          const result = await cca.acquireTokenByClientCredential({
            scopes: [`${resource}/.default`],
            authority: `${cloud.authorityHost}/${tenantId}`,
            // our cache is in front; MSAL's own is a linear scan we do not want to grow
            skipCache: true,
          })
          return toCached(result, now())
        } finally {
          // keep MSAL's in-memory cache empty (its authority metadata stays); nothing reads it with skipCache
          if (--inFlight === 0) cca.clearCache()
        }
      },
    }
  }

  const isMi = credential.kind === 'managedIdentity'
  const prefix = `dvs2s:v1:${cloud.name}:`
  const resourceMemo = new Map<string, string>()
  const parts = (request: TokenRequest): [string, string] => {
    if (!request || typeof request !== 'object') {
      throw new TokenError('INVALID_RESOURCE', 'getToken needs { tenantId, resource }')
    }
    const tenant = isMi
      ? 'managed-identity'
      : request.tenantId !== undefined
        ? checkTenant(request.tenantId)
        : checkTenant(defaultTenant)
    let resource = resourceMemo.get(request.resource)
    if (resource === undefined) {
      resource = normaliseResource(request.resource)
      if (resourceMemo.size >= 1024) resourceMemo.clear()
      resourceMemo.set(request.resource, resource)
    }
    return [tenant, resource]
  }
  const acquire: TokenSource = async (ctx) => {
    try {
      return await source.acquire(ctx)
    } catch (error) {
      const mapped = toTokenError(error, {
        clientId,
        tenantId: ctx.tenantId,
        resource: ctx.resource,
        consentUrl: (t) => consentUrl(t, ctx.resource),
        secrets: source.secrets(),
        managedIdentity: isMi,
        federatedManagedIdentity: credential.kind === 'managedIdentityFederation',
        ...transportErrorOf(error, ownNetwork),
      })
      log.warn('token request failed', {
        code: mapped.code,
        aadsts: mapped.details.aadsts,
        tenantId: ctx.tenantId,
        resource: ctx.resource,
        correlationId: mapped.details.correlationId,
      })
      throw mapped
    }
  }
  const telemetry = createTokenTelemetry(options.telemetry, cloud.authorityHost)
  const cache = new TokenCache({
    keyOf: (tenant, resource) => `${prefix}${tenant}:${clientId}:${resource}`,
    source: telemetry ? (ctx) => traceAcquisition(telemetry, ctx, () => acquire(ctx)) : acquire,
    ...(options.cache?.maxEntries !== undefined ? { maxEntries: options.cache.maxEntries } : {}),
    ...(options.cache?.store ? { store: options.cache.store } : {}),
    ...(options.refresh ? { refresh: options.refresh } : {}),
    logger: log,
    now,
    telemetry,
  })

  return {
    clientId,
    cloud,
    getToken(request) {
      try {
        const [tenant, resource] = parts(request)
        return cache.get(tenant, resource)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    invalidate(request) {
      const [tenant, resource] = parts(request)
      cache.invalidate(tenant, resource)
    },
    stats: () => cache.stats(),
  }
}

/**
 * The managed identity's own token request failed (managedIdentityFederation): no identity here, the user-assigned
 * one not assigned, or the endpoint unreachable. The message never carries the endpoint's body or a token.
 */
function toManagedIdentityError(error: unknown, secrets: readonly string[]): TokenError {
  if (error instanceof TokenError) return error
  const e = (error ?? {}) as { errorCode?: string; status?: number; name?: string }
  const text = redact(String((error as Error)?.message ?? error), secrets)
  const unreachable =
    e.errorCode === 'network_error' ||
    e.name === 'NetworkError' ||
    /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|network/i.test(text)
  return new TokenError(
    unreachable ? 'NETWORK' : 'MANAGED_IDENTITY_UNAVAILABLE',
    unreachable
      ? 'The managed identity endpoint could not be reached: run where a managed identity is available (App Service, Functions, a VM, AKS) or set IDENTITY_ENDPOINT for a local emulator'
      : 'The managed identity could not get a token for the token-exchange audience: check that the identity (system-assigned, or the user-assigned one whose client id you passed) is assigned to this resource',
    {
      cause: new Error(text),
      details: {
        tenantId: 'managed-identity',
        resource: 'api://AzureADTokenExchange',
        ...(e.errorCode ? { oauthError: e.errorCode } : {}),
      },
    },
  )
}
