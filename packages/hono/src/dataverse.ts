import type { TokenProvider } from '@dataverse-s2s/core'
import {
  createDataverseClient,
  type DataverseClient,
  type DataverseClientOptions,
} from '@dataverse-s2s/webapi'
import type { Context, MiddlewareHandler } from 'hono'
import { LRUCache } from 'lru-cache'
import { HonoS2SError } from './errors.ts'
import type { DataverseActor } from './types.ts'

/** Options of {@link dataverseClient}. */
export interface DataverseClientMiddlewareOptions {
  /** App-only tokens per tenant (`createTokenProvider` from `@dataverse-s2s/core`). */
  tokens: Pick<TokenProvider, 'getToken' | 'invalidate'>
  /** Options for every org's client (CA, timeouts, retry, logger, …); `url` and `getToken` are set per tenant. */
  client?: Omit<DataverseClientOptions, 'url' | 'getToken' | 'impersonate'>
  /**
   * Whether the request acts as the signed-in user (`CallerObjectId` = the user's `oid`, so Dataverse applies
   * that user's privileges and the audit columns name them) or as the application user. Default: as the app.
   */
  impersonate?: boolean | ((c: Context) => boolean | Promise<boolean>)
  /** Clients kept (one per tenant and org, sharing connections and throttling state), least recently used out (default 1,000). */
  maxClients?: number
}

/**
 * Middleware that gives each request a Dataverse client for its tenant's org (after {@link resolveTenant}):
 * `c.var.dataverse` (impersonating the user when `impersonate` says so) and `c.var.dataverseAsApp`. The org URL and
 * tenant come only from the registry, and the caller's object id only from the verified token, so nothing in the
 * request can point it at another org or another user.
 * @param options - see {@link DataverseClientMiddlewareOptions}
 * @throws HonoS2SError `INVALID_OPTIONS` without `tokens`; `MISSING_CONTEXT` when `resolveTenant` did not run first
 * @example
 * app.use('/api/*', verifyUser({ verifier }), resolveTenant({ lookup: (tid) => tenants.get(tid) }), dataverseClient({ tokens }))
 * app.get('/api/accounts', async (c) => c.json(await c.var.dataverse.query('accounts', { top: 10 })))
 */
export function dataverseClient(options: DataverseClientMiddlewareOptions): MiddlewareHandler {
  if (!options?.tokens || typeof options.tokens.getToken !== 'function') {
    throw new HonoS2SError('INVALID_OPTIONS', 'dataverseClient needs tokens (createTokenProvider from core)')
  }
  const clients = createClientCache(options)
  const impersonate = options.impersonate ?? false
  return async function dataverseClientMiddleware(c, next) {
    const tenant = c.get('tenant')
    if (!tenant) {
      throw new HonoS2SError(
        'MISSING_CONTEXT',
        'dataverseClient runs after resolveTenant: add resolveTenant first',
      )
    }
    const app = clients.get(tenant.tenantId, tenant.orgUrl)
    const asUser = typeof impersonate === 'function' ? await impersonate(c) : impersonate
    const actor: DataverseActor = asUser ? 'user' : 'app'
    const user = c.get('user')
    if (asUser && !user) {
      throw new HonoS2SError('MISSING_CONTEXT', 'Impersonation needs the verified user: add verifyUser first')
    }
    c.set('dataverseAsApp', app)
    c.set('actor', actor)
    c.set('dataverse', asUser ? app.as({ callerObjectId: user.objectId }) : app)
    await next()
  }
}

/** A bounded cache of one client per (tenant, org); exported for apps that need clients outside a request. */
export interface DataverseClientCache {
  get(tenantId: string, orgUrl: string): DataverseClient
  delete(tenantId: string, orgUrl: string): void
  readonly size: number
}

/**
 * Creates a cache of Dataverse clients, one per (tenant, org), whose tokens come from `tokens` for that tenant.
 * Reusing a client keeps its connections, its adaptive concurrency and any `Retry-After` pause for that org.
 * @param options - `tokens`, `client` options and `maxClients` (default 1,000)
 * @example
 * const clients = createClientCache({ tokens, maxClients: 500 })
 * const client = clients.get(tenant.tenantId, tenant.orgUrl) // the same client for the same tenant and org
 * const me = await client.whoAmI()
 */
export function createClientCache(
  options: Pick<DataverseClientMiddlewareOptions, 'tokens' | 'client' | 'maxClients'>,
): DataverseClientCache {
  // A maintained LRU (lru-cache) rather than a second hand-written one: a read makes the client most recent.
  const map = new LRUCache<string, DataverseClient>({ max: options.maxClients ?? 1000 })
  const { tokens } = options
  return {
    get(tenantId, orgUrl) {
      const key = `${tenantId.toLowerCase()}|${orgUrl}`
      let client = map.get(key)
      if (client) return client
      client = createDataverseClient({
        ...options.client,
        url: orgUrl,
        getToken: async (resource, { forceRefresh }) => {
          if (forceRefresh) tokens.invalidate({ tenantId, resource })
          return (await tokens.getToken({ tenantId, resource })).token
        },
      })
      map.set(key, client)
      return client
    },
    delete(tenantId, orgUrl) {
      map.delete(`${tenantId.toLowerCase()}|${orgUrl}`)
    },
    get size() {
      return map.size
    },
  }
}
