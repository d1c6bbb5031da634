// Scaling out: the same app on several instances, sharing tokens and the throttle budget through Redis and the
// tenant registry through PostgreSQL. Each function is one instance's start-up; docs/test/scaling-out.test.ts runs
// three of them against the emulator, a Redis and a PostgreSQL.
import { clientSecret, createTokenProvider } from '@dataverse-s2s/core'
import { openPostgresTenantRegistry } from '@dataverse-s2s/hono/postgres'
import { connectRedis, createRedisThrottle, createRedisTokenStore, parseKeyRing } from '@dataverse-s2s/redis'
import { createDataverseClient } from '@dataverse-s2s/webapi'
import type { Setup } from './setup.ts'

/** What every instance is configured with (the same values on each). */
export interface ScaleOutEnv {
  REDIS_URL: string
  DATABASE_URL: string
  /** `id:base64key,…`: the first key encrypts, every listed key decrypts. */
  TOKEN_CACHE_KEYS: string
  /** Keeps several apps (or test runs) apart in one Redis. */
  PREFIX: string
}

export async function startInstance(setup: Setup, env: ScaleOutEnv) {
  // #region tokens
  const redis = await connectRedis({ url: env.REDIS_URL })
  const tokens = createTokenProvider({
    clientId: setup.clientId,
    credential: clientSecret(setup.clientSecret),
    cloud: setup.cloud,
    http: { ca: setup.ca },
    cache: {
      // encrypted at rest, expires with the token, one token request per tenant across all instances
      store: createRedisTokenStore({
        redis,
        prefix: env.PREFIX,
        keyRing: parseKeyRing(env.TOKEN_CACHE_KEYS),
      }),
    },
  })
  // #endregion tokens

  // #region client
  const throttle = createRedisThrottle({ redis, prefix: env.PREFIX })
  const clientFor = (tenantId: string, orgUrl: string) =>
    createDataverseClient({
      url: orgUrl,
      ca: setup.ca,
      getToken: async (resource, { forceRefresh }) => {
        if (forceRefresh) tokens.invalidate({ tenantId, resource })
        return tokens.getToken({ tenantId, resource })
      },
      // one pause, one concurrency limit and one request budget per org for every instance
      concurrency: { shared: { throttle, scope: `${orgUrl}|${setup.clientId}` } },
    })
  // #endregion client

  // #region registry
  // migrations run under an advisory lock: instances may start at once
  const { registry } = await openPostgresTenantRegistry({ connectionString: env.DATABASE_URL })
  // #endregion registry

  return {
    tokens,
    clientFor,
    registry,
    async stop() {
      await registry.close()
      await redis.close()
    },
  }
}
