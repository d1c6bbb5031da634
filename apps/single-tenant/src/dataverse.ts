import { createTokenProvider, type TokenProvider } from '@dataverse-s2s/core'
import { type ClientClock, createDataverseClient, type DataverseClient } from '@dataverse-s2s/webapi'
import { certificateCredential } from './certificate.ts'
import type { AppConfig, Environment } from './config.ts'

export interface Environments {
  list: readonly Environment[]
  /** The client of one environment, acting as the application user. */
  client(name: string): DataverseClient | undefined
  tokens: TokenProvider
}

const PUBLIC_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
])

/**
 * One token provider (certificate credential, the app's own tenant) and one client per configured environment.
 * Clients are created once: each keeps its own throttling state and connection pool for its org.
 */
export function createEnvironments(
  config: AppConfig,
  options: {
    userAgent?: string
    /** The clock of the clients' waits (Retry-After, back-off); tests pass a fake one so that waits take no real time. */
    clock?: ClientClock
  } = {},
): Environments {
  const host = new URL(config.authorityHost).host
  const tokens = createTokenProvider({
    clientId: config.clientId,
    tenantId: config.tenantId,
    // The certificate credential: validated up front, signed by MSAL (PS256 + x5t#S256).
    credential: certificateCredential(config),
    ...(PUBLIC_HOSTS.has(host)
      ? {}
      : {
          cloud: {
            name: `custom:${host}`,
            authorityHost: config.authorityHost,
            dataverseHosts: config.environments.map((e) => new URL(e.url).hostname),
          },
        }),
    ...(config.caPem ? { http: { ca: config.caPem } } : {}),
  })
  const clients = new Map<string, DataverseClient>()
  for (const environment of config.environments) {
    clients.set(
      environment.name,
      createDataverseClient({
        url: environment.url,
        getToken: async (resource, { forceRefresh }) => {
          // Dataverse answered 401 with the cached token (e.g. revoked): drop it and ask Entra ID again.
          if (forceRefresh) tokens.invalidate({ resource })
          return (await tokens.getToken({ resource })).token
        },
        userAgent: options.userAgent ?? 'dataverse-s2s-single-tenant',
        ...(config.caPem ? { ca: config.caPem } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    )
  }
  return { list: config.environments, client: (name) => clients.get(name), tokens }
}
