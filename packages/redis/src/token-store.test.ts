import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { SecondLevelCache } from '@dataverse-s2s/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectForTest, dropPrefix, newKey, uniquePrefix } from '../test/redis.ts'
import type { RedisConnection } from './connect.ts'
import { RedisAdapterError } from './errors.ts'
import { parseKeyRing } from './key-ring.ts'
import { createRedisTokenStore, type StoredToken } from './token-store.ts'

const prefix = uniquePrefix()
const k1 = newKey()
const k2 = newKey()
let redis: RedisConnection
let others: RedisConnection[] = []

beforeAll(async () => {
  redis = await connectForTest()
  others = [await connectForTest(), await connectForTest()]
})
afterAll(async () => {
  await dropPrefix(redis, prefix)
  await Promise.all([redis, ...others].map((r) => r.close()))
})

const token = (lifetimeMs = 3_600_000): StoredToken => ({
  token: `eyJ.secret-${Math.random()}`,
  expiresOn: Date.now() + lifetimeMs,
})

describe('createRedisTokenStore', () => {
  it('is a SecondLevelCache of core, single flight included', () => {
    const store: SecondLevelCache = createRedisTokenStore({ redis, keyRing: parseKeyRing(`a:${k1}`), prefix })
    expect(typeof store.singleFlight).toBe('function')
  })

  it('round-trips a token encrypted at rest, expiring with the token', async () => {
    const store = createRedisTokenStore({ redis, keyRing: parseKeyRing(`a:${k1}`), prefix })
    const t = { ...token(60_000), issuedOn: Date.now() - 1000 }
    await store.set('rt', t, 3_600_000)
    // issuedOn too: core's safety margins are a share of the whole lifetime
    expect(await store.get('rt')).toEqual({ token: t.token, expiresOn: t.expiresOn, issuedOn: t.issuedOn })
    const raw = (await redis.sendCommand(['GET', `${prefix}rt`])) as string
    expect(raw.startsWith('v1.a.')).toBe(true)
    expect(raw).not.toContain(t.token)
    expect(raw).not.toContain('secret')
    // the TTL comes from expires_on, not from the longer ttlMs given
    const pttl = Number(await redis.sendCommand(['PTTL', `${prefix}rt`]))
    expect(pttl).toBeGreaterThan(55_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
    await store.delete('rt')
    expect(await store.get('rt')).toBeUndefined()
  })

  it('does not store a token that has already expired', async () => {
    const store = createRedisTokenStore({ redis, keyRing: parseKeyRing(`a:${k1}`), prefix })
    await store.set('gone', { token: 'x', expiresOn: Date.now() - 1 }, 1000)
    expect(await redis.sendCommand(['EXISTS', `${prefix}gone`])).toBe(0)
  })

  it('refuses a token under a wrong key, an unknown key id, a moved value or tampering, and logs no secret', async () => {
    const lines: string[] = []
    const logger = { warn: (m: string, f: Record<string, unknown>) => lines.push(m + JSON.stringify(f)) }
    const writer = createRedisTokenStore({ redis, keyRing: parseKeyRing(`a:${k1}`), prefix, logger })
    const t = token()
    await writer.set('wk', t, 3_600_000)
    const wrongKey = createRedisTokenStore({ redis, keyRing: parseKeyRing(`a:${k2}`), prefix, logger })
    expect(await wrongKey.get('wk')).toBeUndefined()
    const unknownId = createRedisTokenStore({ redis, keyRing: parseKeyRing(`b:${k2}`), prefix, logger })
    expect(await unknownId.get('wk')).toBeUndefined()
    // a value copied to another tenant's key does not open there (the Redis key is authenticated data)
    const raw = (await redis.sendCommand(['GET', `${prefix}wk`])) as string
    await redis.sendCommand(['SET', `${prefix}other-tenant`, raw, 'PX', '60000'])
    expect(await writer.get('other-tenant')).toBeUndefined()
    const flipped = raw.slice(0, -3) + (raw.at(-3) === 'A' ? 'B' : 'A') + raw.slice(-2)
    await redis.sendCommand(['SET', `${prefix}tampered`, flipped, 'PX', '60000'])
    expect(await writer.get('tampered')).toBeUndefined()
    expect(lines).toHaveLength(4)
    for (const line of lines) {
      expect(line).not.toContain(t.token)
      expect(line).not.toContain(k1)
      expect(line).not.toContain(k2)
    }
    expect(lines[1]).toContain("key id 'a'")
  })

  it('rotates keys: new writes use the current key, old keys still read', async () => {
    const old = createRedisTokenStore({ redis, keyRing: parseKeyRing(`2025-01:${k1}`), prefix })
    const t = token()
    await old.set('rot', t, 3_600_000)
    const rotated = createRedisTokenStore({
      redis,
      keyRing: parseKeyRing(`2025-06:${k2},2025-01:${k1}`),
      prefix,
    })
    expect((await rotated.get('rot'))?.token).toBe(t.token)
    await rotated.set('rot', t, 3_600_000)
    expect(String(await redis.sendCommand(['GET', `${prefix}rot`])).startsWith('v1.2025-06.')).toBe(true)
    expect(await old.get('rot')).toBeUndefined()
  })

  it('refuses an unusable key ring without printing a key', () => {
    const short = Buffer.alloc(16, 7).toString('base64')
    const attempts = [``, `nocolon`, `a:${short}`, `a:${k1},a:${k2}`, `bad id:${k1}`]
    for (const text of attempts) {
      let error: unknown
      try {
        parseKeyRing(text)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(RedisAdapterError)
      expect((error as RedisAdapterError).code).toBe('CONFIG')
      expect((error as Error).message).not.toContain(short)
      expect((error as Error).message).not.toContain(k1)
    }
    expect(() => createRedisTokenStore({ redis, keyRing: { current: 'x', keys: { y: k1 } } })).toThrow(
      /current key id 'x'/,
    )
  })

  it('makes one token request for a storm of callers on three connections', async () => {
    const keyRing = parseKeyRing(`a:${k1}`)
    const stores = [redis, ...others].map((r) =>
      createRedisTokenStore({ redis: r, keyRing, prefix, lease: { pollMs: 5 } }),
    )
    let requests = 0
    const request = async () => {
      requests++
      await new Promise((r) => setTimeout(r, 50))
      return token()
    }
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (stores[i % 3] as (typeof stores)[0]).singleFlight('storm', request, undefined),
      ),
    )
    expect(requests).toBe(1)
    expect(new Set(results.map((r) => r.token)).size).toBe(1)
    // a refresh (the caller saw the old token) makes exactly one more request, whose result everyone gets
    const seen = results[0]
    const refreshed = await Promise.all(stores.map((s) => s.singleFlight('storm', request, seen)))
    expect(requests).toBe(2)
    expect(new Set(refreshed.map((r) => r.token)).size).toBe(1)
    expect(refreshed[0]?.token).not.toBe(seen?.token)
  })

  it('renews the lease of a token request slower than the lease, so no second request starts', async () => {
    const keyRing = parseKeyRing(`a:${k1}`)
    const [a, b] = [redis, others[0] as RedisConnection].map((r) =>
      createRedisTokenStore({ redis: r, keyRing, prefix, lease: { ttlMs: 45, pollMs: 5 } }),
    )
    let requests = 0
    const slow = async () => {
      requests++
      // twice the lease (Redis expires it on its own, real clock); renewed every 15 ms
      await new Promise((r) => setTimeout(r, 90))
      return token()
    }
    const first = a?.singleFlight('slow', slow, undefined)
    await new Promise((r) => setTimeout(r, 10))
    const second = b?.singleFlight('slow', slow, undefined)
    const [x, y] = await Promise.all([first, second])
    expect(requests).toBe(1)
    expect(y?.token).toBe(x?.token)
  })

  it("takes over when a lease holder is killed: the holder's lease expires", async () => {
    // the dead holder's lease (it renews every 50 ms while alive); the store that takes over waits up to 3 × its own
    const holderTtlMs = 90
    const ttlMs = 1_000
    const child = spawn(
      process.execPath,
      [
        '--conditions=@dataverse-s2s/source',
        '--import',
        'tsx',
        fileURLToPath(new URL('../test/hold-lease.ts', import.meta.url)),
      ],
      {
        env: { ...process.env, PREFIX: prefix, KEY_RING: `a:${k1}`, TTL_MS: String(holderTtlMs) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child never took the lease')), 15_000)
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('holding')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.on('exit', () => reject(new Error('the child exited before taking the lease')))
    })
    child.kill('SIGKILL')
    const lockTtl = Number(await redis.sendCommand(['PTTL', `${prefix}lock:killed`]))
    expect(lockTtl).toBeGreaterThan(0)
    expect(lockTtl).toBeLessThanOrEqual(holderTtlMs)
    const store = createRedisTokenStore({
      redis,
      keyRing: parseKeyRing(`a:${k1}`),
      prefix,
      lease: { ttlMs, pollMs: 10 },
    })
    let requests = 0
    const started = Date.now()
    const v = await store.singleFlight(
      'killed',
      async () => {
        requests++
        return token()
      },
      undefined,
    )
    expect(requests).toBe(1)
    expect(v.token).toMatch(/^eyJ/)
    // it waited for the dead holder's lease, and not for the whole wait budget (3 × ttl)
    expect(Date.now() - started).toBeGreaterThanOrEqual(lockTtl - 20)
    expect(Date.now() - started).toBeLessThan(3 * ttlMs)
  })
})
