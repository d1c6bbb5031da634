// One app instance of the scale-out bench: takes row keys from a Redis queue and upserts them into Contoso's org
// (shared: one throttle budget and token cache through Redis; independent: its own governor), or, for the cold
// storm, asks its token provider for 100 tenants' tokens at once. Prints one JSON line with its figures.
import { clientSecret, createTokenProvider, defineCloud } from '@dataverse-s2s/core'
import { connectRedis, createRedisThrottle, createRedisTokenStore, parseKeyRing } from '@dataverse-s2s/redis'
import { createDataverseClient } from '@dataverse-s2s/webapi'

const env = process.env as Record<string, string>
const redis = await connectRedis({ url: env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
const prefix = env.PREFIX as string
const shared = env.MODE === 'shared' || env.MODE === 'storm'
const store = shared
  ? createRedisTokenStore({ redis, prefix, keyRing: parseKeyRing(env.KEY_RING as string) })
  : undefined
const tokens = createTokenProvider({
  clientId: env.APP_ID as string,
  credential: clientSecret(env.APP_SECRET as string),
  cloud: defineCloud({
    name: 'emulator',
    authorityHost: env.AUTHORITY as string,
    dataverseHosts: ['localhost'],
  }),
  http: { ca: env.CA as string },
  ...(store ? { cache: { store } } : {}),
})

if (env.MODE === 'storm') {
  const tenants = (env.TENANTS as string).split(',')
  const callers = Number(env.CALLERS)
  const started = performance.now()
  const results = await Promise.allSettled(
    Array.from({ length: callers }, (_, i) =>
      tokens.getToken({ tenantId: tenants[i % tenants.length] as string, resource: env.ORG_URL as string }),
    ),
  )
  // why callers failed, by error code (never a token or a message that could hold one)
  const failed: Record<string, number> = {}
  for (const r of results) {
    if (r.status === 'rejected') {
      const code = String((r.reason as { code?: unknown })?.code ?? (r.reason as Error)?.name ?? 'unknown')
      failed[code] = (failed[code] ?? 0) + 1
    }
  }
  process.stdout.write(
    `${JSON.stringify({ ok: results.filter((r) => r.status === 'fulfilled').length, ms: performance.now() - started, failed })}\n`,
  )
  await redis.close()
  process.exit(0)
}

const tenantId = env.TENANT_ID as string
let throttles = 0
const client = createDataverseClient({
  url: env.ORG_URL as string,
  ca: env.CA,
  getToken: async (resource, { forceRefresh }) => {
    if (forceRefresh) tokens.invalidate({ tenantId, resource })
    return tokens.getToken({ tenantId, resource })
  },
  retry: { budgetMs: 600_000, maxAttempts: 100 },
  concurrency: shared
    ? { shared: { throttle: createRedisThrottle({ redis, prefix }), scope: 'contoso', leaseMs: 15_000 } }
    : {},
  logger: { warn: (m) => (m.includes('throttled') ? throttles++ : undefined) },
})
const queue = `${prefix}queue`
const mine = `${prefix}processing:${process.pid}`
let done = 0
let failures = 0
process.stdout.write(`${JSON.stringify({ started: process.pid })}\n`)
// start together: the bench measures the throttle, not how long each process takes to load
while ((await redis.sendCommand(['EXISTS', `${prefix}go`])) === 0) await new Promise((r) => setTimeout(r, 10))
const started = performance.now()
await Promise.all(
  Array.from({ length: 64 }, async () => {
    for (;;) {
      const key = (await redis.sendCommand(['LMOVE', queue, mine, 'LEFT', 'RIGHT'])) as string | null
      if (key === null) return
      try {
        await client.upsert('accounts', { accountnumber: key }, { name: `Scale-out ${key}` })
        done++
      } catch {
        failures++
      }
      await redis.sendCommand(['LREM', mine, '1', key])
    }
  }),
)
process.stdout.write(`${JSON.stringify({ done, failures, throttles, ms: performance.now() - started })}\n`)
await redis.close()
process.exit(0)
