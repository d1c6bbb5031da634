import { TokenError } from './errors.ts'

/**
 * A Microsoft cloud (or a custom one, such as the emulator): where Entra ID signs in and which hosts its Dataverse
 * orgs live on.
 */
export interface Cloud {
  /** A short stable name, part of every cache key: `public`, `gcc`, `gcc-high`, `dod`, `china`, or your own. */
  readonly name: string
  /** Origin of Entra ID for this cloud, e.g. `https://login.microsoftonline.com` (no trailing slash). */
  readonly authorityHost: string
  /**
   * Origin of the issuer of this cloud's v1.0 access tokens, which is not the login host: v1.0 tokens carry
   * `iss: {v1IssuerHost}/{tid}/` (e.g. `https://sts.windows.net/{tid}/`), v2.0 tokens `{authorityHost}/{tid}/v2.0`.
   * Default: `authorityHost` (what the emulator issues).
   */
  readonly v1IssuerHost?: string
  /**
   * Other login hosts that speak for this cloud (e.g. `login.windows.net`); a 401 challenge naming one of these
   * or `authorityHost` is trusted by {@link discoverTenant}.
   */
  readonly loginHostAliases: readonly string[]
  /**
   * How org hosts of this cloud look: a string matches the host itself or any subdomain of it (`dynamics.cn`
   * matches `contoso.crm.dynamics.cn`), a RegExp is tested against the host (with `:port` when there is one).
   */
  readonly dataverseHosts: readonly (string | RegExp)[]
  /** Global Discovery Service origin, when the cloud has one. */
  readonly globalDiscoveryUrl?: string
  /**
   * True for clouds MSAL does not know (the emulator, a private cloud): the provider passes the authority host to
   * MSAL as a known authority and supplies the endpoint metadata itself, so MSAL never calls the public cloud's
   * instance discovery.
   */
  readonly custom: boolean
}

/** What {@link defineCloud} takes to describe a custom cloud in one object. */
export interface CustomCloudOptions {
  name: string
  /** Origin of the cloud's Entra ID, e.g. `https://localhost:8443`. Must be https (MSAL refuses http). */
  authorityHost: string
  /** Origin in the `iss` of the cloud's v1.0 access tokens (`{v1IssuerHost}/{tid}/`). Default: `authorityHost`. */
  v1IssuerHost?: string
  /** Org hosts of this cloud; see {@link Cloud.dataverseHosts}. Default: the authority's hostname (`localhost`). */
  dataverseHosts?: readonly (string | RegExp)[]
  loginHostAliases?: readonly string[]
  globalDiscoveryUrl?: string
}

// Hosts from entra-docs authentication-national-cloud.md and power-platform microsoft-dynamics-365-government.md
// (see shared/DOMAIN.md §2.9). GCC uses the public Entra ID; only its Dataverse hosts (crm9) differ.
// v1.0 issuer hosts: sts.windows.net for the public cloud (entra-docs access-tokens.md sample token and
// v1 metadata); sts.windows.net for US Government and sts.chinacloudapi.cn for China per Microsoft Q&A
// learn.microsoft.com/answers/questions/1190472 (the token references do not name the sovereign v1 hosts; Bot
// Framework's constants name login.microsoftonline.us for US Government instead). Override with
// `{ ...gccHighCloud, v1IssuerHost }` when your tokens say otherwise.
const STS_PUBLIC = 'https://sts.windows.net'
/** Microsoft's public (commercial) cloud: `login.microsoftonline.com`, `*.crm[N].dynamics.com` except crm9. */
export const publicCloud: Cloud = Object.freeze({
  name: 'public',
  authorityHost: 'https://login.microsoftonline.com',
  v1IssuerHost: STS_PUBLIC,
  loginHostAliases: ['login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
  dataverseHosts: [/^[a-z0-9-]+\.(api\.)?crm(?!9\.)(\d{0,2})\.dynamics\.com$/i],
  globalDiscoveryUrl: 'https://globaldisco.crm.dynamics.com',
  custom: false,
})

/** US Government Community Cloud (moderate): public Entra ID, orgs on `*.crm9.dynamics.com`. */
export const gccCloud: Cloud = Object.freeze({
  name: 'gcc',
  authorityHost: 'https://login.microsoftonline.com',
  v1IssuerHost: STS_PUBLIC,
  loginHostAliases: ['login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
  dataverseHosts: [/^[a-z0-9-]+\.(api\.)?crm9\.dynamics\.com$/i],
  globalDiscoveryUrl: 'https://globaldisco.crm9.dynamics.com',
  custom: false,
})

/** US Government GCC High: `login.microsoftonline.us`, orgs on `*.crm.microsoftdynamics.us`. */
export const gccHighCloud: Cloud = Object.freeze({
  name: 'gcc-high',
  authorityHost: 'https://login.microsoftonline.us',
  v1IssuerHost: STS_PUBLIC,
  loginHostAliases: ['login.usgovcloudapi.net'],
  dataverseHosts: ['crm.microsoftdynamics.us'],
  globalDiscoveryUrl: 'https://globaldisco.crm.microsoftdynamics.us',
  custom: false,
})

/** US Government DoD: `login.microsoftonline.us`, orgs on `*.crm.appsplatform.us`. */
export const dodCloud: Cloud = Object.freeze({
  name: 'dod',
  authorityHost: 'https://login.microsoftonline.us',
  v1IssuerHost: STS_PUBLIC,
  loginHostAliases: ['login.usgovcloudapi.net'],
  dataverseHosts: ['crm.appsplatform.us'],
  globalDiscoveryUrl: 'https://globaldisco.crm.appsplatform.us',
  custom: false,
})

/** China (operated by 21Vianet): `login.chinacloudapi.cn`, orgs on `*.crm.dynamics.cn`. */
export const chinaCloud: Cloud = Object.freeze({
  name: 'china',
  authorityHost: 'https://login.chinacloudapi.cn',
  v1IssuerHost: 'https://sts.chinacloudapi.cn',
  loginHostAliases: ['login.partner.microsoftonline.cn'],
  dataverseHosts: ['crm.dynamics.cn'],
  globalDiscoveryUrl: 'https://globaldisco.crm.dynamics.cn',
  custom: false,
})

/** The built-in clouds by name. */
export const clouds: Readonly<Record<'public' | 'gcc' | 'gcc-high' | 'dod' | 'china', Cloud>> = Object.freeze(
  {
    public: publicCloud,
    gcc: gccCloud,
    'gcc-high': gccHighCloud,
    dod: dodCloud,
    china: chinaCloud,
  },
)

/** A built-in cloud's name, a built-in {@link Cloud}, or a custom cloud described in one object. */
export type CloudInput = keyof typeof clouds | Cloud | CustomCloudOptions

function normaliseOrigin(value: string, what: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch (cause) {
    throw new TokenError(
      'INVALID_OPTIONS',
      `${what} "${value}" is not a URL; pass an origin like https://host`,
      {
        cause,
      },
    )
  }
  if (url.protocol !== 'https:') {
    throw new TokenError(
      'INVALID_OPTIONS',
      `${what} must use https (MSAL refuses http authorities); got ${url.origin}`,
    )
  }
  return url.origin
}

/**
 * Describes a custom cloud (the emulator, a private deployment) in one object.
 * @param options - name, authority host (https origin) and optionally the org hosts
 * @throws TokenError `INVALID_OPTIONS` when the authority host is not an https URL
 * @example
 * const emulator = defineCloud({ name: 'emulator', authorityHost: 'https://localhost:8443' })
 */
export function defineCloud(options: CustomCloudOptions): Cloud {
  if (!options.name || typeof options.name !== 'string') {
    throw new TokenError('INVALID_OPTIONS', 'A custom cloud needs a name (it is part of every cache key)')
  }
  const authorityHost = normaliseOrigin(options.authorityHost, 'authorityHost')
  const cloud: Cloud = {
    name: options.name,
    authorityHost,
    v1IssuerHost:
      options.v1IssuerHost === undefined
        ? authorityHost
        : normaliseOrigin(options.v1IssuerHost, 'v1IssuerHost'),
    loginHostAliases: [...(options.loginHostAliases ?? [])],
    dataverseHosts: [...(options.dataverseHosts ?? [new URL(authorityHost).hostname])],
    custom: true,
    ...(options.globalDiscoveryUrl ? { globalDiscoveryUrl: options.globalDiscoveryUrl } : {}),
  }
  return Object.freeze(cloud)
}

/**
 * Turns a {@link CloudInput} into a {@link Cloud}.
 * @param input - a built-in name (default `public`), a Cloud, or custom-cloud options
 * @throws TokenError `INVALID_OPTIONS` for an unknown name or a malformed custom cloud
 * @example
 * const cloud = resolveCloud('gcc-high')
 * console.log(cloud.authorityHost) // https://login.microsoftonline.us
 */
export function resolveCloud(input: CloudInput = 'public'): Cloud {
  if (typeof input === 'string') {
    const cloud = (clouds as Record<string, Cloud>)[input]
    if (!cloud) {
      throw new TokenError(
        'INVALID_OPTIONS',
        `Unknown cloud "${input}"; use one of ${Object.keys(clouds).join(', ')} or describe a custom cloud with defineCloud()`,
      )
    }
    return cloud
  }
  if ('custom' in input && Array.isArray(input.loginHostAliases) && Array.isArray(input.dataverseHosts)) {
    return input as Cloud
  }
  return defineCloud(input)
}

function hostMatches(pattern: string | RegExp, host: string, hostname: string): boolean {
  if (typeof pattern === 'string') {
    const p = pattern.toLowerCase()
    return hostname === p || hostname.endsWith(`.${p}`) || host === p
  }
  return pattern.test(host) || pattern.test(hostname)
}

/**
 * True when `orgUrl`'s host is one of `cloud`'s Dataverse hosts.
 * @example
 * isOrgUrlOfCloud('https://contoso.crm.dynamics.cn', chinaCloud) // true
 */
export function isOrgUrlOfCloud(orgUrl: string | URL, cloud: Cloud): boolean {
  const url = typeof orgUrl === 'string' ? safeUrl(orgUrl) : orgUrl
  if (!url) return false
  const host = url.host.toLowerCase()
  const hostname = url.hostname.toLowerCase()
  return cloud.dataverseHosts.some((p) => hostMatches(p, host, hostname))
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

/**
 * Recognises the cloud of an org URL: `https://contoso.crm.dynamics.com` is public,
 * `https://contoso.crm9.dynamics.com` GCC, `*.crm.microsoftdynamics.us` GCC High, `*.crm.appsplatform.us` DoD,
 * `*.crm.dynamics.cn` China; custom clouds passed in `extra` are tried first.
 * @param orgUrl - the org's URL (any path is ignored)
 * @param extra - custom clouds to consider (default none)
 * @returns the cloud, or `undefined` when the host belongs to none
 * @example
 * cloudFromOrgUrl('https://contoso.crm9.dynamics.com')?.name // 'gcc'
 */
export function cloudFromOrgUrl(orgUrl: string | URL, extra: readonly Cloud[] = []): Cloud | undefined {
  for (const cloud of [...extra, gccCloud, publicCloud, gccHighCloud, dodCloud, chinaCloud]) {
    if (isOrgUrlOfCloud(orgUrl, cloud)) return cloud
  }
  return undefined
}

/**
 * True when `host` (hostname or host:port) is a login host of `cloud`.
 * @example
 * isTrustedLoginHost('login.microsoftonline.com', publicCloud) // true
 */
export function isTrustedLoginHost(host: string, cloud: Cloud): boolean {
  const h = host.toLowerCase()
  const own = new URL(cloud.authorityHost)
  return h === own.host.toLowerCase() || cloud.loginHostAliases.some((a) => a.toLowerCase() === h)
}
