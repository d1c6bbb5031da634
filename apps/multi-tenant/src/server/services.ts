import {
  type Cloud,
  type ConsentStateManager,
  clientCertificate,
  clientSecret,
  createConsentStateManager,
  createTenantDiscovery,
  createTokenProvider,
  createUserTokenVerifier,
  DiscoveryError,
  defineCloud,
  resolveCloud,
  type SecondLevelCache,
  type TenantDiscovery,
  type TokenProvider,
  type UserTokenVerifier,
} from '@dataverse-s2s/core'
import { createClientCache, type DataverseClientCache, type TenantRegistry } from '@dataverse-s2s/hono'
import type { SharedThrottle } from '@dataverse-s2s/webapi'
import type { AppConfig } from './config.ts'
import { type AppLogger, createLogger } from './log.ts'

/** Where the identity platform is: a real cloud, or the emulator (its URL and CA). */
export interface IdentitySettings {
  clientId: string
  credential: { secret: string } | { certificatePem: string }
  cloud: Cloud
  /** Extra CA to trust (the emulator's). */
  ca?: string
}

/** Everything the routes use, built once per process. */
export interface Services {
  config: Pick<AppConfig, 'publicUrl' | 'apiScope' | 'roleName' | 'mode'>
  clientId: string
  cloud: Cloud
  /** `api://<clientId>/<scope>`: the scope the SPA requests for this API. */
  apiScopeUri: string
  ca: string | undefined
  registry: TenantRegistry
  tokens: TokenProvider
  /** Verifies users of onboarded tenants (the data API). */
  verifier: UserTokenVerifier
  /** Verifies users of any tenant: the admin of a tenant not onboarded yet signs in before connecting it. */
  onboardingVerifier: UserTokenVerifier
  discovery: TenantDiscovery
  states: ConsentStateManager
  clients: DataverseClientCache
  stateSecret: string
  logger: AppLogger
  /** Literal secrets the logger must never print. */
  secrets: readonly string[]
}

/** Reads the identity settings from the configuration (real Entra ID). */
export function entraIdentity(config: AppConfig): IdentitySettings {
  const entra = config.entra
  if (!entra) throw new Error('No Entra settings: set ENTRA_CLIENT_ID')
  return {
    clientId: entra.clientId,
    credential: entra.certificatePem
      ? { certificatePem: entra.certificatePem }
      : { secret: entra.clientSecret ?? '' },
    cloud: entraCloud(entra),
    ...(entra.caPem ? { ca: entra.caPem } : {}),
  }
}

/**
 * The configured cloud: a built-in one (`ENTRA_CLOUD`), or a stand-in for Entra ID at `ENTRA_AUTHORITY_HOST` (a
 * custom cloud whose orgs are on the same host name, as the emulator serves them).
 */
export function entraCloud(entra: NonNullable<AppConfig['entra']>): Cloud {
  return entra.authorityHost
    ? defineCloud({ name: 'stand-in', authorityHost: entra.authorityHost })
    : resolveCloud(entra.cloud)
}

/** The emulator as a custom cloud: its Entra ID host, orgs on localhost. */
export function emulatorCloud(url: string): Cloud {
  // the emulator serves the Global Discovery Service on its Entra ID origin
  return defineCloud({
    name: 'emulator',
    authorityHost: url,
    dataverseHosts: ['localhost'],
    globalDiscoveryUrl: url,
  })
}

/**
 * On the emulator every org is on localhost, so the cloud's host check would let an org URL typed in onboarding name
 * any local port, and the server would probe it (and say how it answered). Only the emulator's own orgs are probed.
 * On a real cloud the host check allows only Dataverse's hosts.
 */
export function onlyEmulatorOrgs(
  discovery: TenantDiscovery,
  orgs: () => readonly { url: string }[],
): TenantDiscovery {
  const originOf = (url: string) => {
    try {
      return new URL(url).origin
    } catch {
      return undefined
    }
  }
  return {
    clear: () => discovery.clear(),
    discover(orgUrl, options) {
      const origin = originOf(orgUrl)
      // A URL that does not parse gets the discovery's own explanation.
      if (origin !== undefined && !orgs().some((o) => originOf(o.url) === origin)) {
        return Promise.reject(
          new DiscoveryError(
            'INVALID_ORG_URL',
            `${origin} is not an org of the emulator: use one of its org URLs (the sample lists them when it starts)`,
          ),
        )
      }
      return discovery.discover(orgUrl, options)
    },
  }
}

/** Builds the services from the configuration, the identity settings and an opened registry. */
export function createServices(
  config: Pick<AppConfig, 'publicUrl' | 'apiScope' | 'roleName' | 'mode' | 'stateSecret'>,
  identity: IdentitySettings,
  registry: TenantRegistry,
  options: {
    logger?: AppLogger
    logSink?: (line: string) => void
    quiet?: boolean
    /** Shared by every instance (Redis): the token cache's second level, and one throttle budget per org. */
    tokenStore?: SecondLevelCache
    throttle?: SharedThrottle
    /** On the emulator: its orgs (read on each call, orgs can be added while it runs). */
    emulatorOrgs?: () => readonly { url: string }[]
  } = {},
): Services {
  const http = identity.ca ? { ca: identity.ca } : {}
  const secretValue = 'secret' in identity.credential ? identity.credential.secret : undefined
  const secrets = [config.stateSecret, ...(secretValue ? [secretValue] : [])]
  const logger =
    options.logger ??
    createLogger({
      secrets: () => secrets,
      ...(options.logSink ? { sink: options.logSink } : {}),
      ...(options.quiet ? { quiet: true } : {}),
    })
  const credential =
    'secret' in identity.credential
      ? clientSecret(identity.credential.secret)
      : clientCertificate(splitPem(identity.credential.certificatePem))
  const tokens = createTokenProvider({
    clientId: identity.clientId,
    credential,
    cloud: identity.cloud,
    http,
    consentRedirectUri: `${config.publicUrl}/onboarding/callback`,
    ...(options.tokenStore ? { cache: { store: options.tokenStore } } : {}),
    logger: {
      // MSAL's own warnings are diagnostics ("No client info in response"): info level, hidden unless LOG_REQUESTS.
      warn: (m, f) => (m.startsWith('msal:') ? logger.info(m, f) : logger.warn(m, f)),
      error: (m, f) => logger.error(m, f),
    },
  })
  const apiScopeUri = `api://${identity.clientId}/${config.apiScope}`
  const verifierOptions = {
    audience: [identity.clientId, `api://${identity.clientId}`],
    cloud: identity.cloud,
    requiredScopes: [config.apiScope],
    http,
  }
  const verifier = createUserTokenVerifier({
    ...verifierOptions,
    // Only tenants the registry knows may call the API at all; which of them get data is decided per route.
    isTenantAllowed: async (tid) => (await registry.get(tid)) !== undefined,
  })
  // The onboarding router checks that the user administers their own tenant on every route.
  const onboardingVerifier = createUserTokenVerifier({ ...verifierOptions, isTenantAllowed: () => true })
  return {
    config,
    clientId: identity.clientId,
    cloud: identity.cloud,
    apiScopeUri,
    ca: identity.ca,
    registry,
    tokens,
    verifier,
    onboardingVerifier,
    discovery: options.emulatorOrgs
      ? onlyEmulatorOrgs(createTenantDiscovery({ clouds: [identity.cloud], http }), options.emulatorOrgs)
      : createTenantDiscovery({ clouds: [identity.cloud], http }),
    states: createConsentStateManager({
      secret: config.stateSecret,
      // Single use is recorded in the app's database, not in this process: it holds across restarts and instances.
      store: { consume: (id, expiresAt) => registry.consumeConsentState(id, expiresAt) },
    }),
    clients: createClientCache({
      tokens,
      client: {
        ...(identity.ca ? { ca: identity.ca } : {}),
        userAgent: 'dataverse-s2s-multi-tenant-sample',
        ...(options.throttle ? { concurrency: { shared: { throttle: options.throttle } } } : {}),
      },
    }),
    stateSecret: config.stateSecret,
    logger,
    secrets,
  }
}

/** The certificate and the private key of a PEM file holding both. */
export function splitPem(pem: string): { certificate: string; privateKey: string } {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0]
  const key = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
    pem,
  )?.[0]
  if (!cert || !key) {
    throw new Error(
      'ENTRA_CERTIFICATE_PATH must be a PEM file holding both the private key and the certificate',
    )
  }
  return { certificate: cert, privateKey: key }
}
