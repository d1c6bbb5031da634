import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectForTest, dropPrefix, uniquePrefix } from '../test/redis.ts'
import type { RedisConnection } from './connect.ts'
import { createRedisThrottle, type ThrottleSettings } from './throttle.ts'

const prefix = uniquePrefix()
let conns: RedisConnection[] = []

beforeAll(async () => {
  conns = [await connectForTest(), await connectForTest(), await connectForTest()]
})
afterAll(async () => {
  await dropPrefix(conns[0] as RedisConnection, prefix)
  await Promise.all(conns.map((c) => c.close()))
})

const settings: ThrottleSettings = { initial: 4, max: 52, adaptive: true, leaseMs: 60_000 }
/** Three instances of an app, each with its own connection. */
const instances = () => conns.map((redis) => createRedisThrottle({ redis, prefix }))
let n = 0
const scope = () => `https://org${++n}.example|app`

describe('createRedisThrottle', () => {
  it('shares one concurrency limit between instances through leases', async () => {
    const [a, b, c] = instances() as [
      ReturnType<typeof instances>[0],
      ReturnType<typeof instances>[0],
      ReturnType<typeof instances>[0],
    ]
    const s = scope()
    const fixed = { ...settings, adaptive: false }
    const ga = await a.acquire(s, 3, fixed)
    const gb = await b.acquire(s, 3, fixed)
    const gc = await c.acquire(s, 3, fixed)
    expect([ga.leases.length, gb.leases.length, gc.leases.length]).toEqual([3, 1, 0])
    expect(gc.waitMs).toBeGreaterThan(0)
    expect(gc.limit).toBe(4)
    await a.release(s, ga.leases[0] as string, { kind: 'failed' }, fixed)
    expect((await c.acquire(s, 3, fixed)).leases).toHaveLength(1)
  })

  it("pauses every instance for one instance's 429, and halves the shared limit once per episode", async () => {
    const [a, b] = instances() as [ReturnType<typeof instances>[0], ReturnType<typeof instances>[0]]
    const s = scope()
    const g = await a.acquire(s, 4, settings)
    expect(g.leases).toHaveLength(4)
    await a.release(
      s,
      g.leases[0] as string,
      { kind: 'throttled', retryAfterMs: 5_000, concurrencyRelated: true },
      settings,
    )
    await a.release(
      s,
      g.leases[1] as string,
      { kind: 'throttled', retryAfterMs: 5_000, concurrencyRelated: true },
      settings,
    )
    const other = await b.acquire(s, 1, settings)
    expect(other.leases).toHaveLength(0)
    expect(other.waitMs).toBeGreaterThan(4_000)
    expect(other.waitMs).toBeLessThanOrEqual(5_000)
    expect(other.limit).toBe(2) // 4 halved once, not twice
  })

  it('after a pause, one probe goes alone until a response other than 429', async () => {
    const [a, b] = instances() as [ReturnType<typeof instances>[0], ReturnType<typeof instances>[0]]
    const s = scope()
    const g = await a.acquire(s, 1, settings)
    await a.release(
      s,
      g.leases[0] as string,
      { kind: 'throttled', retryAfterMs: 1, concurrencyRelated: false },
      settings,
    )
    await new Promise((r) => setTimeout(r, 5))
    const probe = await b.acquire(s, 4, settings)
    expect(probe.leases).toHaveLength(1)
    expect((await a.acquire(s, 4, settings)).leases).toHaveLength(0)
    await b.release(
      s,
      probe.leases[0] as string,
      { kind: 'response', dopHint: undefined, remaining: 100 },
      settings,
    )
    expect((await a.acquire(s, 4, settings)).leases.length).toBeGreaterThan(1)
  })

  it('spends the remaining request budget once across instances, then sends one probe', async () => {
    const [a, b] = instances() as [ReturnType<typeof instances>[0], ReturnType<typeof instances>[0]]
    const s = scope()
    const fixed = { ...settings, initial: 10, adaptive: false }
    const first = await a.acquire(s, 1, fixed)
    // Dataverse says 3 requests are left in the window
    await a.release(
      s,
      first.leases[0] as string,
      { kind: 'response', dopHint: undefined, remaining: 3 },
      fixed,
    )
    const ga = await a.acquire(s, 2, fixed)
    const gb = await b.acquire(s, 5, fixed)
    expect(ga.leases.length + gb.leases.length).toBe(3)
    for (const l of ga.leases)
      await a.release(s, l, { kind: 'response', dopHint: undefined, remaining: 0 }, fixed)
    for (const l of gb.leases)
      await b.release(s, l, { kind: 'response', dopHint: undefined, remaining: 0 }, fixed)
    // nothing left: a single probe may find out whether the window has moved on
    expect((await a.acquire(s, 5, fixed)).leases).toHaveLength(1)
    expect((await b.acquire(s, 5, fixed)).leases).toHaveLength(0)
  })

  it('follows x-ms-dop-hint and grows additively, up to the max, for all instances', async () => {
    const [a, b] = instances() as [ReturnType<typeof instances>[0], ReturnType<typeof instances>[0]]
    const s = scope()
    const capped = { ...settings, max: 6 }
    const g = await a.acquire(s, 1, capped)
    await a.release(s, g.leases[0] as string, { kind: 'response', dopHint: 5, remaining: undefined }, capped)
    expect((await b.acquire(s, 0, capped)).limit).toBe(5)
    for (let i = 0; i < 20; i++) {
      const h = await b.acquire(s, 1, capped)
      await b.release(
        s,
        h.leases[0] as string,
        { kind: 'response', dopHint: 5, remaining: undefined },
        capped,
      )
    }
    expect((await a.acquire(s, 0, capped)).limit).toBe(6)
  })

  it("gives a crashed instance's leases back when they expire", async () => {
    const [a, b] = instances() as [ReturnType<typeof instances>[0], ReturnType<typeof instances>[0]]
    const s = scope()
    const short = { ...settings, adaptive: false, initial: 2, leaseMs: 60 }
    expect((await a.acquire(s, 2, short)).leases).toHaveLength(2) // never released: this instance "died"
    expect((await b.acquire(s, 1, short)).leases).toHaveLength(0)
    const deadline = Date.now() + 5_000
    let got = 0
    while (got === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10))
      got = (await b.acquire(s, 2, short)).leases.length
    }
    expect(got).toBe(2)
  })
})
