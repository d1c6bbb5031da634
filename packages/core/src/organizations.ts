// Lists the Dataverse environments a signed-in user can access through the Global Discovery Service (Microsoft Learn:
// "Discover user organizations", power-apps/developer/data-platform/discovery-service): `GET {gds}/api/discovery/
// v2.0/Instances` with the user's delegated token for the cloud's GDS (`{gds}/user_impersonation`); it answers the
// instances as `{ value: [...] }` (an empty list when the user has none), `FriendlyName` for display, `ApiUrl` to
// connect. A 401 means the token is not a user token for that GDS.
import { type CloudInput, resolveCloud } from './clouds.ts'
import { DiscoveryError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import { HttpTimeoutError, send } from './internal/http.ts'

/** One environment the user can access (the GDS `Instance`, the properties an app needs, typed). */
export interface DiscoveredOrganization {
  /** The OrganizationId. */
  id: string
  uniqueName: string
  urlName: string
  /** The name to show (as in Power Apps). */
  friendlyName: string
  /** The URL to connect to (the Web API's org URL). */
  apiUrl: string
  /** The application URL. */
  url: string
  /** 0 enabled, 1 disabled. */
  state: number
  version: string
  region: string
  tenantId: string
  environmentId: string
  lastUpdated?: string
  isUserSysAdmin?: boolean
}

/** Options of {@link discoverOrganizations}: the cloud whose Global Discovery Service to ask, and a filter. */
export interface DiscoverOrganizationsOptions {
  /** The cloud whose GDS to ask (default `public`); a custom cloud (the emulator) names its `globalDiscoveryUrl`. */
  cloud?: CloudInput
  /** An OData `$filter` over the Instance properties, e.g. `Region eq 'NA'` (case-sensitive strings). */
  filter?: string
  /** Extra trusted CAs and the time limit (default 10 s). */
  http?: HttpOptions
  signal?: AbortSignal
}

/**
 * The scope a public client asks for to call the GDS of `cloud` (default public) with {@link discoverOrganizations}.
 * @example
 * discoveryScope() // 'https://globaldisco.crm.dynamics.com/user_impersonation'
 */
export function discoveryScope(cloud: CloudInput = 'public', audience?: string): string {
  const base = audience ?? resolveCloud(cloud).globalDiscoveryUrl
  if (!base) throw new DiscoveryError('NO_DISCOVERY_SERVICE', 'This cloud has no Global Discovery Service.')
  return `${base.replace(/\/$/, '')}/user_impersonation`
}

/**
 * The environments the user of `userToken` (a delegated token for the cloud's Global Discovery Service) can access.
 * @throws {DiscoveryError} `UNAUTHORIZED` (not a user token for this GDS: acquire one with {@link discoveryScope}),
 * `NO_DISCOVERY_SERVICE`, `DISCOVERY_FAILED`, `TIMEOUT`.
 * @example
 * const { accessToken } = await acquireTokenByDeviceCode({ clientId, scopes: [discoveryScope()], onPrompt: (p) => console.log(p.message) })
 * for (const org of await discoverOrganizations(accessToken)) console.log(org.friendlyName, org.apiUrl)
 */
export async function discoverOrganizations(
  userToken: string,
  options: DiscoverOrganizationsOptions = {},
): Promise<DiscoveredOrganization[]> {
  const cloud = resolveCloud(options.cloud ?? 'public')
  const gds = cloud.globalDiscoveryUrl
  if (!gds) {
    throw new DiscoveryError(
      'NO_DISCOVERY_SERVICE',
      `The cloud '${cloud.name}' has no Global Discovery Service: set globalDiscoveryUrl on the cloud, or let the user type the org URL.`,
    )
  }
  const query = options.filter ? `?$filter=${encodeURIComponent(options.filter)}` : ''
  const target = `${gds.replace(/\/$/, '')}/api/discovery/v2.0/Instances${query}`
  let res: Awaited<ReturnType<typeof send>>
  try {
    res = await send(
      target,
      {
        method: 'GET',
        headers: { accept: 'application/json', authorization: `Bearer ${userToken}` },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      options.http ?? {},
    )
  } catch (cause) {
    if (cause instanceof HttpTimeoutError) {
      throw new DiscoveryError(
        'TIMEOUT',
        `The Global Discovery Service ${gds} did not answer in time: retry later.`,
        { cause },
      )
    }
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `The Global Discovery Service ${gds} could not be reached: check the network.`,
      { cause },
    )
  }
  if (res.status === 401 || res.status === 403) {
    throw new DiscoveryError(
      'UNAUTHORIZED',
      `The Global Discovery Service ${gds} refused the token (${res.status}): it needs a delegated user token for scope ${discoveryScope(cloud)}, not an app-only token.`,
    )
  }
  if (res.status !== 200) {
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `The Global Discovery Service ${gds} answered ${res.status}: retry later, or check the filter.`,
    )
  }
  let body: { value?: Record<string, unknown>[] }
  try {
    body = JSON.parse(res.text) as typeof body
  } catch (cause) {
    throw new DiscoveryError(
      'DISCOVERY_FAILED',
      `The Global Discovery Service ${gds} answered something other than JSON.`,
      { cause },
    )
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : '')
  return (body.value ?? []).map((i) => {
    const org: DiscoveredOrganization = {
      id: str(i.Id),
      uniqueName: str(i.UniqueName),
      urlName: str(i.UrlName),
      friendlyName: str(i.FriendlyName),
      apiUrl: str(i.ApiUrl),
      url: str(i.Url),
      state: typeof i.State === 'number' ? i.State : 0,
      version: str(i.Version),
      region: str(i.Region),
      tenantId: str(i.TenantId),
      environmentId: str(i.EnvironmentId),
    }
    if (typeof i.LastUpdated === 'string') org.lastUpdated = i.LastUpdated
    if (typeof i.IsUserSysAdmin === 'boolean') org.isUserSysAdmin = i.IsUserSysAdmin
    return org
  })
}
