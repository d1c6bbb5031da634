import {
  type Cloud,
  type CloudInput,
  cloudFromOrgUrl,
  isOrgUrlOfCloud,
  isTrustedLoginHost,
  resolveCloud,
} from './clouds.ts'
import { DiscoveryError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import { HttpTimeoutError, send } from './internal/http.ts'
import { LruMap } from './internal/lru.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** What {@link discoverTenant} learned about an org. */
export interface DiscoveredTenant {
  /** The tenant that owns the org (lower-case GUID). */
  tenantId: string
  /** The org's origin, e.g. `https://contoso.crm.dynamics.com`. */
  orgUrl: string
  cloud: Cloud
  /** `{authorityHost}/{tenantId}`, the authority for app-only tokens. */
  authority: string
  /** `resource_id` from the challenge, when present. */
  resourceId?: string
}

/** Options of {@link discoverTenant} / {@link createTenantDiscovery}. */
export interface DiscoverTenantOptions {
  /** The org's cloud. Default: recognised from the org URL (public, GCC, GCC High, DoD, China, or `clouds`). */
  cloud?: CloudInput
  /** Custom clouds to recognise org URLs of (e.g. the emulator). */
  clouds?: readonly Cloud[]
  /** Extra trusted CAs and the time limit of the probe (default 10 s). */
  http?: HttpOptions
  /** How long a discovered tenant is remembered (default 24 h). */
  cacheTtlMs?: number
  signal?: AbortSignal
}

/**
 * Parses a `WWW-Authenticate: Bearer k=v, k="v"` challenge into lower-cased keys.
 * @example
 * const challenge = parseBearerChallenge('Bearer authorization_uri="https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/authorize", resource_id="https://contoso.crm.dynamics.com/"')
 * console.log(challenge?.['authorization_uri'])
 */
export function parseBearerChallenge(header: string): Record<string, string> | undefined {
  const m = /^\s*Bearer\s+(.*)$/is.exec(header)
  if (!m?.[1]) return undefined
  const out: Record<string, string> = {}
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g
  for (let p = re.exec(m[1]); p; p = re.exec(m[1])) {
    const k = (p[1] ?? '').toLowerCase()
    if (!(k in out)) out[k] = p[2] ?? p[3] ?? ''
  }
  return out
}

/** A tenant discovery with its own cache; {@link discoverTenant} uses a shared default one. */
export interface TenantDiscovery {
  /**
   * Finds the tenant of an org from the 401 challenge of an unauthenticated `GET {org}/api/data/v9.2/`.
   * @throws DiscoveryError `INVALID_ORG_URL`, `DISCOVERY_FAILED`, `UNTRUSTED_AUTHORITY` or `TIMEOUT`
   */
  discover(orgUrl: string, options?: DiscoverTenantOptions): Promise<DiscoveredTenant>
  clear(): void
}

/**
 * Creates a tenant discovery with its own cache (bounded, per org origin, single-flight).
 * @param defaults - options applied to every call (a call's own options win)
 * @example
 * const discovery = createTenantDiscovery({ cacheTtlMs: 60 * 60_000 })
 * const { tenantId, authority } = await discovery.discover('https://contoso.crm.dynamics.com')
 */
export function createTenantDiscovery(defaults: DiscoverTenantOptions = {}): TenantDiscovery {
  const cache = new LruMap<string, { value: DiscoveredTenant; until: number; lruReferenced: boolean }>(10_000)
  const pending = new Map<string, Promise<DiscoveredTenant>>()
  return {
    clear: () => cache.clear(),
    async discover(orgUrl, callOptions = {}) {
      const options = { ...defaults, ...callOptions }
      const url = parseOrgUrl(orgUrl)
      const cloud = pickCloud(url, options)
      const key = `${cloud.name}|${url.origin}`
      const hit = cache.get(key)
      if (hit && hit.until > Date.now()) return hit.value
      const inflight = pending.get(key)
      if (inflight) return inflight
      const p = probe(url, cloud, options)
        .then((value) => {
          cache.set(key, {
            value,
            until: Date.now() + (options.cacheTtlMs ?? 24 * 3_600_000),
            lruReferenced: false,
          })
          return value
        })
        .finally(() => pending.delete(key))
      pending.set(key, p)
      return p
    },
  }
}

const shared = createTenantDiscovery()

/**
 * Finds the tenant that owns a Dataverse org from its 401 challenge (cached per org, 24 h by default). The
 * challenge's `authorization_uri` must be on a login host of the org's cloud and name a tenant GUID.
 * @param orgUrl - e.g. `https://contoso.crm.dynamics.com` (a path is ignored)
 * @param options - cloud (default: recognised from the URL), extra CAs, time limit
 * @throws DiscoveryError `INVALID_ORG_URL`, `DISCOVERY_FAILED`, `UNTRUSTED_AUTHORITY` or `TIMEOUT`
 * @example
 * const { tenantId } = await discoverTenant('https://contoso.crm.dynamics.com')
 */
export function discoverTenant(orgUrl: string, options?: DiscoverTenantOptions): Promise<DiscoveredTenant> {
  return shared.discover(orgUrl, options)
}

function parseOrgUrl(orgUrl: string): URL {
  let url: URL
  try {
    url = new URL(orgUrl)
  } catch {
    throw new DiscoveryError(
      'INVALID_ORG_URL',
      'The org URL is not a URL; pass e.g. https://contoso.crm.dynamics.com',
    )
  }
  if (url.protocol !== 'https:' || url.username || url.password) {
    throw new DiscoveryError(
      'INVALID_ORG_URL',
      'The org URL must be a plain https URL, e.g. https://contoso.crm.dynamics.com',
    )
  }
  return url
}

function pickCloud(url: URL, options: DiscoverTenantOptions): Cloud {
  if (options.cloud !== undefined) {
    let cloud: Cloud
    try {
      cloud = resolveCloud(options.cloud)
    } catch (cause) {
      throw new DiscoveryError('INVALID_ORG_URL', (cause as Error).message, { cause })
    }
    if (!isOrgUrlOfCloud(url, cloud)) {
      throw new DiscoveryError(
        'INVALID_ORG_URL',
        `${url.host} is not a Dataverse host of the ${cloud.name} cloud: check the org URL or the cloud`,
      )
    }
    return cloud
  }
  const cloud = cloudFromOrgUrl(url, options.clouds ?? [])
  if (!cloud) {
    throw new DiscoveryError(
      'INVALID_ORG_URL',
      `${url.host} is not a Dataverse host of a known cloud (e.g. *.crm.dynamics.com): check the URL, or pass the cloud`,
    )
  }
  return cloud
}

async function probe(url: URL, cloud: Cloud, options: DiscoverTenantOptions): Promise<DiscoveredTenant> {
  const target = `${url.origin}/api/data/v9.2/`
  let res: Awaited<ReturnType<typeof send>>
  try {
    res = await send(
      target,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      options.http ?? {},
    )
  } catch (cause) {
    if (cause instanceof HttpTimeoutError) {
      throw new DiscoveryError(
        'TIMEOUT',
        `${url.origin} did not answer the discovery probe in time: retry later`,
        { cause },
      )
    }
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `${url.origin} could not be reached: check the org URL and the network`,
      {
        cause,
      },
    )
  }
  const header = res.headers['www-authenticate']
  if (res.status !== 401 || !header) {
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `${url.origin} answered ${res.status} without a Bearer challenge; it does not look like a Dataverse org`,
    )
  }
  const params = parseBearerChallenge(header)
  const authUri = params?.['authorization_uri']
  if (!authUri) {
    throw new DiscoveryError('DISCOVERY_FAILED', `${url.origin} sent a challenge without authorization_uri`)
  }
  let auth: URL
  try {
    auth = new URL(authUri)
  } catch {
    throw new DiscoveryError('DISCOVERY_FAILED', `${url.origin} sent an authorization_uri that is not a URL`)
  }
  if (auth.protocol !== 'https:' || !isTrustedLoginHost(auth.host, cloud)) {
    throw new DiscoveryError(
      'UNTRUSTED_AUTHORITY',
      `${url.origin} named ${auth.host} as its authority, which is not a login host of the ${cloud.name} cloud; refusing to trust it`,
    )
  }
  const tenant = auth.pathname.split('/').filter(Boolean)[0] ?? ''
  if (!GUID.test(tenant)) {
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `${url.origin} did not name a tenant GUID in its challenge (got "${tenant.slice(0, 40)}"); pass the tenant id yourself`,
    )
  }
  const tenantId = tenant.toLowerCase()
  const result: DiscoveredTenant = {
    tenantId,
    orgUrl: url.origin,
    cloud,
    authority: `${cloud.authorityHost}/${tenantId}`,
  }
  if (params?.['resource_id']) result.resourceId = params['resource_id']
  return result
}
