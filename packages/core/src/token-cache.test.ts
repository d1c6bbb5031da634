import { describe, expect, it } from 'vitest'
import type { Logger } from './logger.ts'
import { safeLogger } from './logger.ts'
import {
  type CachedToken,
  createMemoryTokenStore,
  TokenCache,
  type TokenRequestContext,
} from './token-cache.ts'

function setup(
  opts: { lifetimeMs?: number; refreshInMs?: number; fail?: () => boolean; maxEntries?: number } = {},
) {
  let now = 1_000_000
  const calls: TokenRequestContext[] = []
  let n = 0
  const lines: string[] = []
  const logger: Logger = { warn: (m) => lines.push(m), debug: (m) => lines.push(m) }
  const source = async (ctx: TokenRequestContext): Promise<CachedToken> => {
    calls.push(ctx)
    await new Promise((r) => setTimeout(r, 5))
    if (opts.fail?.()) throw Object.assign(new Error('boom'), { code: 'NETWORK' })
    n++
    const lifetime = opts.lifetimeMs ?? 3_600_000
    return {
      token: `tok-${ctx.tenantId}-${n}`,
      expiresOn: now + lifetime,
      ...(opts.refreshInMs ? { refreshOn: now + opts.refreshInMs } : {}),
    }
  }
  const cache = new TokenCache({
    source,
    keyOf: (t, r) => `k:${t}:${r}`,
    logger: safeLogger(logger, () => []),
    now: () => now,
    ...(opts.maxEntries ? { maxEntries: opts.maxEntries } : {}),
  })
  return {
    cache,
    calls,
    lines,
    advance: (ms: number) => {
      now += ms
    },
    get: (tenant: string) => cache.get(tenant, 'https://org'),
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20))

describe('TokenCache', () => {
  it('shares one request among 1,000 concurrent callers of a cold key', async () => {
    const t = setup()
    const results = await Promise.all(Array.from({ length: 1000 }, () => t.get('a')))
    expect(t.calls).toHaveLength(1)
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(['tok-a-1']))
    expect(t.cache.stats()).toMatchObject({ requests: 1, misses: 1000 })
  })

  it('serves hits from memory and keeps tenants apart', async () => {
    const t = setup()
    const a = await t.get('a')
    const b = await t.get('b')
    expect(a.token).not.toBe(b.token)
    expect((await t.get('a')).token).toBe(a.token)
    expect(t.calls).toHaveLength(2)
    expect(t.cache.stats().hits).toBe(1)
  })

  it('refreshes in the background before expiry without making callers wait', async () => {
    const t = setup({ lifetimeMs: 3_600_000 })
    const first = await t.get('a')
    t.advance(3_600_000 - 4 * 60_000) // inside the 5-minute refresh window, still valid
    const during = await t.get('a')
    expect(during.token).toBe(first.token) // served at once, the old token
    expect(t.calls).toHaveLength(2) // ...while a refresh started
    expect(t.calls[1]?.reason).toBe('refresh')
    await tick()
    expect((await t.get('a')).token).toBe('tok-a-2')
  })

  it('honours refresh_in (refreshOn) when the issuer sends it', async () => {
    const t = setup({ lifetimeMs: 3_600_000, refreshInMs: 600_000 })
    await t.get('a')
    t.advance(599_000)
    await t.get('a')
    expect(t.calls).toHaveLength(1)
    t.advance(2_000)
    await t.get('a')
    expect(t.calls).toHaveLength(2)
  })

  it('keeps serving the valid token when a refresh fails, and retries with back-off', async () => {
    let failing = false
    const t = setup({ lifetimeMs: 3_600_000, fail: () => failing })
    const first = await t.get('a')
    failing = true
    t.advance(3_600_000 - 4 * 60_000)
    expect((await t.get('a')).token).toBe(first.token)
    await tick()
    expect(t.cache.stats().refreshFailures).toBe(1)
    expect(t.lines.some((l) => l.includes('background token refresh failed'))).toBe(true)
    // within the back-off window: no new attempt
    t.advance(1_000)
    expect((await t.get('a')).token).toBe(first.token)
    expect(t.calls).toHaveLength(2)
    // after the back-off (2 s): one new attempt, still failing, the token is still served
    t.advance(1_500)
    expect((await t.get('a')).token).toBe(first.token)
    await tick()
    expect(t.calls).toHaveLength(3)
    // next back-off is 4 s
    t.advance(3_000)
    await t.get('a')
    expect(t.calls).toHaveLength(3)
    failing = false
    t.advance(1_500)
    await t.get('a')
    await tick()
    expect(t.calls).toHaveLength(4)
    expect((await t.get('a')).token).toBe('tok-a-2')
  })

  it('makes callers wait for a new token once the old one expired, and reports the failure', async () => {
    let failing = false
    const t = setup({ lifetimeMs: 60_000, fail: () => failing })
    await t.get('a')
    failing = true
    t.advance(60_000)
    await expect(t.get('a')).rejects.toThrow('boom')
  })

  it('never serves a token inside its expiry safety margin, even while a refresh keeps failing', async () => {
    let failing = false
    const t = setup({ lifetimeMs: 3_600_000, fail: () => failing })
    const first = await t.get('a')
    failing = true
    // 10 s before expiresOn: the token has not expired, but it is past the 30 s safety margin (usable-until), so a
    // request sent with it could arrive expired. The caller must wait for a new token, not get this one.
    t.advance(3_600_000 - 10_000)
    await expect(t.get('a')).rejects.toThrow('boom')
    failing = false
    const next = await t.get('a')
    expect(next.token).not.toBe(first.token)
    // and just before the margin the cached token is still served without a wait
    const u = setup({ lifetimeMs: 3_600_000 })
    const kept = await u.get('a')
    u.advance(3_600_000 - 31_000)
    expect((await u.get('a')).token).toBe(kept.token)
  })

  it('stays bounded: least recently used tenants are evicted', async () => {
    const t = setup({ maxEntries: 3 })
    for (const x of ['a', 'b', 'c']) await t.get(x)
    await t.get('a') // a is now the most recent
    await t.get('d') // evicts b
    expect(t.cache.stats()).toMatchObject({ size: 3, evictions: 1 })
    await t.get('a')
    expect(t.calls).toHaveLength(4)
    await t.get('b')
    expect(t.calls).toHaveLength(5)
  })

  it('reads and writes a second-level cache shared by instances', async () => {
    const store = createMemoryTokenStore()
    let requests = 0
    const make = () =>
      new TokenCache({
        keyOf: (t, r) => `k:${t}:${r}`,
        source: async () => {
          requests++
          return { token: `shared-${requests}`, expiresOn: Date.now() + 3_600_000 }
        },
        store,
        logger: safeLogger(undefined, () => []),
      })
    const one = make()
    const two = make()
    expect((await one.get('t', 'r')).token).toBe('shared-1')
    expect((await two.get('t', 'r')).token).toBe('shared-1')
    expect(requests).toBe(1)
    expect(two.stats().sharedHits).toBe(1)
  })

  it('bypasses a failing second-level cache', async () => {
    const lines: string[] = []
    const cache = new TokenCache({
      keyOf: (t, r) => `k:${t}:${r}`,
      source: async () => ({ token: 'x', expiresOn: Date.now() + 3_600_000 }),
      store: {
        get: () => Promise.reject(new Error('redis down')),
        set: () => Promise.reject(new Error('redis down')),
      },
      logger: safeLogger({ warn: (m) => lines.push(m) }, () => []),
    })
    expect((await cache.get('t', 'r')).token).toBe('x')
    expect(lines).toHaveLength(2)
  })

  it('invalidate forgets a key', async () => {
    const t = setup()
    await t.get('a')
    t.cache.invalidate('a', 'https://org')
    await t.get('a')
    expect(t.calls).toHaveLength(2)
  })

  it('keeps several resources of one tenant apart, through eviction and invalidation', async () => {
    let n = 0
    const cache = new TokenCache({
      keyOf: (t, r) => `k:${t}:${r}`,
      source: async (ctx) => ({ token: `${ctx.resource}#${++n}`, expiresOn: Date.now() + 3_600_000 }),
      logger: safeLogger(undefined, () => []),
      maxEntries: 2,
    })
    expect((await cache.get('t', 'r1')).token).toBe('r1#1')
    expect((await cache.get('t', 'r2')).token).toBe('r2#2')
    expect((await cache.get('t', 'r1')).token).toBe('r1#1')
    expect((await cache.get('t', 'r2')).token).toBe('r2#2')
    cache.invalidate('t', 'r1')
    expect((await cache.get('t', 'r2')).token).toBe('r2#2')
    expect((await cache.get('t', 'r1')).token).toBe('r1#3')
    expect((await cache.get('t', 'r3')).token).toBe('r3#4') // evicts one of r1/r2 (both read: second chance)
    expect(cache.stats()).toMatchObject({ size: 2, evictions: 1 })
    const again = [await cache.get('t', 'r1'), await cache.get('t', 'r2'), await cache.get('t', 'r3')]
    expect(again.map((a) => a.token).filter((t) => t.endsWith('#5'))).toHaveLength(1)
  })
})
