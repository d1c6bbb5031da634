import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SecondLevelCache } from '@dataverse-s2s/core'
import type { TenantRegistry } from '@dataverse-s2s/hono'
import type { SharedThrottle } from '@dataverse-s2s/webapi'
import type { AppConfig } from './config.ts'

/** What the app keeps outside the process when it runs on several instances. */
export interface SharedEngines {
  registry: TenantRegistry
  /** Redis: the token cache's shared second level (encrypted) with cross-instance single flight. */
  tokenStore?: SecondLevelCache
  /** Redis: one throttle budget per org and application user. */
  throttle?: SharedThrottle
  close(): Promise<void>
}

/**
 * Opens the engines the configuration names: `DATABASE_URL` → the tenant registry on PostgreSQL, else embedded
 * PGlite in the data folder; `REDIS_URL` → tokens and throttling shared through Redis, else in this process.
 */
export async function openEngines(
  config: Pick<AppConfig, 'dataDir' | 'redis' | 'databaseUrl'>,
  options: {
    inMemoryRegistry?: boolean
    clientId: string
    warn: (message: string, fields: Record<string, unknown>) => void
  },
): Promise<SharedEngines> {
  const closers: (() => Promise<void>)[] = []
  try {
    let registry: TenantRegistry
    if (config.databaseUrl) {
      const { openPostgresTenantRegistry } = await import('@dataverse-s2s/hono/postgres')
      registry = (
        await openPostgresTenantRegistry({
          connectionString: config.databaseUrl,
          onIdleError: (error) =>
            options.warn('a pooled PostgreSQL connection was lost; the next query reconnects', {
              code: (error as Error & { code?: string }).code ?? error.name,
            }),
        })
      ).registry
    } else {
      const { openPgliteTenantRegistry } = await import('@dataverse-s2s/hono/pglite')
      registry = (
        await openPgliteTenantRegistry(
          options.inMemoryRegistry
            ? { template: join(tmpdir(), 'dataverse-s2s-pglite-0.5.16-initdb.tar') }
            : { dataDir: join(config.dataDir, 'tenant-registry') },
        )
      ).registry
    }
    closers.push(() => registry.close())
    if (!config.redis) return { registry, close: () => closeAll(closers) }
    const { connectRedis, createRedisThrottle, createRedisTokenStore, parseKeyRing } = await import(
      '@dataverse-s2s/redis'
    )
    const redis = await connectRedis({ url: config.redis.url, logger: { warn: options.warn } })
    closers.push(() => redis.close())
    // one prefix per application (REDIS_PREFIX to choose it): several apps may share a Redis, not tokens or budgets
    const prefix = config.redis.prefix ?? `dvs2s:${options.clientId}:`
    return {
      registry,
      tokenStore: createRedisTokenStore({
        redis,
        prefix,
        keyRing: parseKeyRing(config.redis.tokenCacheKeys),
        logger: { warn: options.warn },
      }),
      throttle: createRedisThrottle({ redis, prefix }),
      close: () => closeAll(closers),
    }
  } catch (error) {
    await closeAll(closers)
    throw error
  }
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {})
}
