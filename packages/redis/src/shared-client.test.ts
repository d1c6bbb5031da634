import { type ChildProcess, spawn } from 'node:child_process'
import { defaultIds } from '@dataverse-s2s/emulator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectForTest, dropPrefix, uniquePrefix } from '../test/redis.ts'
import { startWorld, type World } from '../test/world.ts'
import { connectRedis, type RedisConnection } from './connect.ts'
import { createRedisThrottle } from './throttle.ts'

const prefix = uniquePrefix()
let world: World
let conns: RedisConnection[] = []

beforeAll(async () => {
  conns = [await connectForTest(), await connectForTest(), await connectForTest()]
  world = await startWorld()
})
afterAll(async () => {
  await dropPrefix(conns[0] as RedisConnection, prefix)
  await Promise.all(conns.map((c) => c.close()))
  await world?.stop()
})

/** Three app instances: each its own Redis connection and client, one shared scope. */
function instances(scope: string, concurrency: { initial: number; max: number; adaptive: boolean }) {
  const warnings: string[] = []
  const clients = conns.map((redis) =>
    world.client({
      concurrency: {
        ...concurrency,
        shared: { throttle: createRedisThrottle({ redis, prefix }), scope, leaseMs: 30_000 },
      },
      logger: { warn: (m) => warnings.push(m) },
    }),
  )
  return { clients, warnings }
}

describe('webapi clients sharing one throttle through Redis', () => {
  it("pauses every instance for one instance's 429", async () => {
    const { clients, warnings } = instances('pause', { initial: 4, max: 52, adaptive: true })
    const [a, b] = clients as [NonNullable<(typeof clients)[0]>, NonNullable<(typeof clients)[0]>]
    await Promise.all([a.whoAmI(), b.whoAmI()])
    world.emulator.admin.injectFault({
      scope: defaultIds.contosoOrgId,
      kind: '429',
      next: 1,
      // A short pause (the shared pause lives in Redis, on real time): 100 ms rather than Dataverse's whole seconds.
      retryAfterSeconds: 0.1,
    })
    const throttledAt = Date.now()
    const first = a.whoAmI()
    const deadline = Date.now() + 5_000
    while (!warnings.some((w) => w.includes('throttled')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    expect(warnings.some((w) => w.includes('throttled'))).toBe(true)
    // b was never told about the 429, yet it waits for the pause
    await b.whoAmI()
    expect(Date.now() - throttledAt).toBeGreaterThanOrEqual(85)
    await first
  })

  it('holds three instances to one concurrency limit', async () => {
    const admin = world.emulator.admin
    admin.setLimits(defaultIds.contosoOrgId, { concurrentRequests: 4 })
    const fault = admin.injectFault({
      scope: defaultIds.contosoOrgId,
      kind: 'latency',
      latencyMs: 40,
      rate: 1,
      path: 'WhoAmI',
    })
    try {
      const { clients, warnings } = instances('limit', { initial: 4, max: 4, adaptive: false })
      const started = Date.now()
      await Promise.all(clients.flatMap((c) => Array.from({ length: 8 }, () => c.whoAmI())))
      // 24 requests of ≥ 40 ms, 4 at a time across the three instances: no 429 for concurrency, ≥ 6 rounds
      expect(warnings.filter((w) => w.includes('throttled'))).toEqual([])
      expect(Date.now() - started).toBeGreaterThanOrEqual(220)
    } finally {
      admin.removeFault(fault)
      admin.setLimits(defaultIds.contosoOrgId, { concurrentRequests: 52 })
    }
  })
})

describe('a Redis outage', () => {
  let server: ChildProcess | undefined
  const port = 6390 + Math.floor(Math.random() * 500)
  const startServer = async () => {
    server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        const c = await connectRedis({ url: `redis://127.0.0.1:${port}` })
        await c.close()
        return
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`redis-server on port ${port} did not start (is redis-server installed?)`, {
            cause: error,
          })
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  afterAll(() => {
    server?.kill('SIGKILL')
  })

  it('degrades to the local governor with a warning, and shares again when Redis is back', async () => {
    await startServer()
    const redis = await connectRedis({ url: `redis://127.0.0.1:${port}`, maxReconnectDelayMs: 50 })
    const warnings: string[] = []
    const client = world.client({
      concurrency: {
        shared: { throttle: createRedisThrottle({ redis, prefix }), scope: 'outage', recheckMs: 50 },
      },
      logger: { warn: (m) => warnings.push(m) },
    })
    const seq = async () =>
      Number((await redis.sendCommand(['HGET', `${prefix}throttle:{outage}:state`, 'seq'])) ?? 0)
    await Promise.all(Array.from({ length: 5 }, () => client.whoAmI()))
    expect(await seq()).toBe(5)
    const stopped = new Promise((r) => server?.once('exit', r))
    server?.kill('SIGKILL')
    await stopped
    // requests keep flowing while Redis is down
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 4 }, () => client.whoAmI()))
    expect(warnings.some((w) => w.includes('shared throttle unavailable'))).toBe(true)
    await startServer()
    const deadline = Date.now() + 10_000
    while (!redis.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    while (!warnings.some((w) => w.includes('shared throttle is back')) && Date.now() < deadline) {
      await client.whoAmI()
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(warnings.some((w) => w.includes('shared throttle is back'))).toBe(true)
    // a fresh server knows nothing: every lease granted from now on is counted there again
    await Promise.all(Array.from({ length: 3 }, () => client.whoAmI()))
    expect(await seq()).toBeGreaterThanOrEqual(3)
    await redis.close()
  })
})
