// The token cache at its edges: the exact instants a token stops being served and a refresh starts, refresh_in,
// the retry schedule near expiry, what it logs, and how it treats a second-level store (its values, failures,
// single flight). Every cache is built inside its test with an injected clock.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { LogFields } from './logger.ts'
import type { TokenTelemetry } from './telemetry.ts'
import {
  type CachedToken,
  createMemoryTokenStore,
  type SecondLevelCache,
  TokenCache,
  type TokenRequestContext,
} from './token-cache.ts'

const T0 = 1_000_000
const HOUR = 3_600_000
const flush = () => new Promise((r) => setImmediate(r))

function setup(
  opts: {
    lifetimeMs?: number
    refreshOnMs?: number
    store?: SecondLevelCache
    refresh?: { retryBaseMs?: number; retryMaxMs?: number }
    telemetry?: TokenTelemetry
  } = {},
) {
  const clock = { now: T0 }
  const calls: TokenRequestContext[] = []
  const logs: { level: string; message: string; fields: LogFields | undefined }[] = []
  let failing: unknown
  let n = 0
  const cache = new TokenCache({
    source: async (ctx) => {
      calls.push(ctx)
      if (failing !== undefined) throw failing
      n++
      return {
        token: `tok-${n}`,
        expiresOn: clock.now + (opts.lifetimeMs ?? HOUR),
        ...(opts.refreshOnMs !== undefined ? { refreshOn: clock.now + opts.refreshOnMs } : {}),
      }
    },
    keyOf: (t, r) => `k:${t}:${r}`,
    logger: {
      debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
      info: () => {},
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
      error: () => {},
    },
    now: () => clock.now,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.refresh ? { refresh: opts.refresh } : {}),
    ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
  })
  return {
    cache,
    calls,
    logs,
    clock,
    fail: (error: unknown) => {
      failing = error
    },
    get: (tenant = 'a', resource = 'https://org') => cache.get(tenant, resource),
  }
}

const warnings = <T extends { level: string }>(logs: T[]) => logs.filter((l) => l.level === 'warn')

afterEach(() => {
  vi.useRealTimers()
})

describe('createMemoryTokenStore', () => {
  it('answers undefined for a key it never held', () => {
    expect(createMemoryTokenStore().get('nothing')).toBeUndefined()
  })

  it('drops a token at its expiry instant, not a millisecond later', () => {
    vi.useFakeTimers({ now: T0 })
    const store = createMemoryTokenStore()
    store.set('k', { token: 't', expiresOn: T0 + 1000 }, 1000)
    vi.setSystemTime(T0 + 999)
    expect(store.get('k')).toEqual({ token: 't', expiresOn: T0 + 1000 })
    vi.setSystemTime(T0 + 1000)
    expect(store.get('k')).toBeUndefined()
    expect(store.size).toBe(0)
  })

  it('keeps its own copy of a value, and deletes', () => {
    const store = createMemoryTokenStore()
    const value = { token: 't', expiresOn: Date.now() + HOUR }
    store.set('k', value, HOUR)
    value.token = 'changed'
    expect((store.get('k') as CachedToken | undefined)?.token).toBe('t')
    store.delete?.('k')
    expect(store.get('k')).toBeUndefined()
  })

  it('evicts the least recently used key: a key read since it was written stays', () => {
    const store = createMemoryTokenStore(2)
    const v = { token: 't', expiresOn: Date.now() + HOUR }
    store.set('a', v, HOUR)
    store.set('b', v, HOUR)
    store.get('a')
    store.set('c', v, HOUR)
    expect(store.get('a')).toBeDefined()
    expect(store.get('b')).toBeUndefined()
    expect(store.get('c')).toBeDefined()
  })
})

describe('TokenCache: when a token is served and refreshed', () => {
  it('stops serving a token exactly at its safety margin (30 s before expiry)', async () => {
    const t = setup()
    await t.get()
    t.clock.now = T0 + HOUR - 30_000 - 1
    expect((await t.get()).token).toBe('tok-1')
    t.clock.now = T0 + HOUR - 30_000
    expect((await t.get()).token).toBe('tok-2')
  })

  it('starts the background refresh exactly 5 minutes before expiry, logging it', async () => {
    const t = setup()
    await t.get()
    t.clock.now = T0 + HOUR - 300_000 - 1
    await t.get()
    expect(t.cache.stats().refreshes).toBe(0)
    t.clock.now = T0 + HOUR - 300_000
    expect((await t.get()).token).toBe('tok-1')
    await flush()
    expect(t.cache.stats().refreshes).toBe(1)
    expect(t.calls.map((c) => c.reason)).toEqual(['miss', 'refresh'])
    expect(t.logs.filter((l) => l.level === 'debug')).toEqual([
      { level: 'debug', message: 'requesting token', fields: { tenantId: 'a', resource: 'https://org' } },
      {
        level: 'debug',
        message: 'refreshing token ahead of expiry',
        fields: { tenantId: 'a', resource: 'https://org' },
      },
      {
        level: 'debug',
        message: 'requesting fresh token',
        fields: { tenantId: 'a', resource: 'https://org' },
      },
    ])
    expect((await t.get()).token).toBe('tok-2')
  })

  it('ignores a refresh_in that does not come before the expiry', async () => {
    const t = setup({ refreshOnMs: HOUR })
    await t.get()
    t.clock.now = T0 + HOUR - 300_000
    await t.get()
    await flush()
    expect(t.cache.stats().refreshes).toBe(1)
  })

  it('retries a failed refresh exactly when its back-off ends, and logs the attempt and the wait', async () => {
    const t = setup()
    await t.get()
    t.fail(Object.assign(new Error('down'), { code: 'NETWORK' }))
    t.clock.now = T0 + HOUR - 300_000
    await t.get()
    await flush()
    expect(warnings(t.logs)).toEqual([
      {
        level: 'warn',
        message: 'background token refresh failed; still serving the valid token',
        fields: { tenantId: 'a', resource: 'https://org', code: 'NETWORK', attempt: 1, retryInMs: 2000 },
      },
    ])
    t.clock.now += 1999
    await t.get()
    await flush()
    expect(t.calls).toHaveLength(2)
    t.clock.now += 1
    await t.get()
    await flush()
    expect(t.calls).toHaveLength(3)
  })

  it('retries shortly before the token stops being served when the back-off would end after that', async () => {
    // 100 s lifetime: served until 90 s (a tenth), refreshed from 50 s (half); a 30 s back-off would end at 80 s,
    // so the retry comes at 90 - 30 = 60 s
    const t = setup({ lifetimeMs: 100_000, refresh: { retryBaseMs: 30_000 } })
    await t.get()
    t.fail(new Error('down'))
    t.clock.now = T0 + 50_000
    await t.get()
    await flush()
    expect(warnings(t.logs)[0]?.fields).toMatchObject({ attempt: 1, retryInMs: 10_000 })
    t.clock.now = T0 + 60_000
    await t.get()
    await flush()
    expect(t.calls).toHaveLength(3)
  })

  it('keeps several resources of one tenant in memory', async () => {
    const t = setup()
    for (const r of ['r1', 'r2', 'r3']) await t.get('a', r)
    for (const r of ['r1', 'r2', 'r3']) await t.get('a', r)
    expect(t.calls).toHaveLength(3)
    expect(t.cache.stats().hits).toBe(3)
  })

  it('forgets everything on clear, and invalidating a key it never held is harmless', async () => {
    const t = setup()
    await t.get()
    t.cache.invalidate('nobody', 'https://org')
    expect((await t.get()).token).toBe('tok-1')
    t.cache.clear()
    expect((await t.get()).token).toBe('tok-2')
  })

  it('works with telemetry that has no counters (tracing only), reporting nothing', async () => {
    const t = setup({
      telemetry: {
        tracer: undefined,
        lookups: undefined,
        refreshes: undefined,
        refreshFailures: undefined,
        duration: undefined,
        serverAddress: 'x',
      },
    })
    await t.get()
    t.fail(new Error('down'))
    t.clock.now = T0 + HOUR - 300_000
    expect((await t.get()).token).toBe('tok-1')
    await flush()
    expect(t.cache.stats()).toMatchObject({ refreshes: 1, refreshFailures: 1 })
  })

  it('reports a refresh failure without a code as error.type unknown', async () => {
    const failures: unknown[] = []
    const counter = (sink?: unknown[]) => ({ add: (_v: number, a?: unknown) => sink?.push(a) })
    const t = setup({
      telemetry: {
        tracer: undefined,
        lookups: counter(),
        refreshes: counter(),
        refreshFailures: counter(failures),
        duration: undefined,
        serverAddress: 'x',
      },
    })
    await t.get()
    t.fail(new Error('down'))
    t.clock.now = T0 + HOUR - 300_000
    await t.get()
    await flush()
    expect(failures).toEqual([
      { 'tenant.id': 'a', 'dataverse.resource': 'https://org', 'error.type': 'unknown' },
    ])
  })
})

describe('TokenCache: the second-level store', () => {
  function recordingStore(initial?: CachedToken) {
    const sets: { key: string; value: CachedToken; ttlMs: number }[] = []
    const deletes: string[] = []
    let value = initial
    const store: SecondLevelCache = {
      get: () => value,
      set: (key, v, ttlMs) => {
        sets.push({ key, value: v, ttlMs })
        value = v
      },
      delete: (key) => {
        deletes.push(key)
      },
    }
    return { store, sets, deletes, put: (v: CachedToken | undefined) => (value = v) }
  }

  it('writes a new token with its remaining lifetime as the TTL, and deletes it on invalidate', async () => {
    const s = recordingStore()
    const t = setup({ store: s.store })
    await t.get()
    expect(s.sets).toEqual([
      { key: 'k:a:https://org', value: { token: 'tok-1', expiresOn: T0 + HOUR, issuedOn: T0 }, ttlMs: HOUR },
    ])
    t.cache.invalidate('a', 'https://org')
    expect(s.deletes).toEqual(['k:a:https://org'])
    expect(warnings(t.logs)).toEqual([])
  })

  it('attaches a handler to a store delete that answers with a promise', () => {
    const caught = vi.fn()
    const t = setup({
      store: { get: () => undefined, set: () => {}, delete: () => ({ catch: caught }) as never },
    })
    t.cache.invalidate('a', 'https://org')
    expect(caught).toHaveBeenCalledWith(expect.any(Function))
  })

  it('logs nothing when there is no store, or the store has nothing', async () => {
    const t = setup()
    await t.get()
    expect(warnings(t.logs)).toEqual([])
    const s = setup({ store: recordingStore().store })
    await s.get()
    expect(warnings(s.logs)).toEqual([])
  })

  it('ignores a stored value that is not a token', async () => {
    for (const bad of [
      { token: 't' },
      { token: 5, expiresOn: T0 + HOUR },
      { token: 't', expiresOn: 'later' },
    ]) {
      const t = setup({ store: recordingStore(bad as never).store })
      expect((await t.get()).token).toBe('tok-1')
      expect(t.cache.stats().sharedHits).toBe(0)
    }
  })

  it('takes a valid stored token on a miss, but not one expiring at that instant', async () => {
    const t = setup({ store: recordingStore({ token: 'shared', expiresOn: T0 + HOUR }).store })
    expect((await t.get()).token).toBe('shared')
    expect(t.cache.stats().sharedHits).toBe(1)
    const late = setup({ store: recordingStore({ token: 'shared', expiresOn: T0 }).store })
    expect((await late.get()).token).toBe('tok-1')
    expect(late.cache.stats().sharedHits).toBe(0)
  })

  it('logs a failing store read and write by error name, and a thrown non-error as unknown', async () => {
    const t = setup({
      store: {
        get: () => {
          throw new TypeError('read')
        },
        set: () => {
          throw 'write' // not an Error
        },
      },
    })
    expect((await t.get()).token).toBe('tok-1')
    expect(warnings(t.logs)).toEqual([
      {
        level: 'warn',
        message: 'second-level token cache read failed; asking Entra ID instead',
        fields: { error: 'TypeError' },
      },
      { level: 'warn', message: 'second-level token cache write failed', fields: { error: 'unknown' } },
    ])
  })

  it('does not write what the store’s single flight already saved', async () => {
    const s = recordingStore()
    const t = setup({ store: { ...s.store, singleFlight: (_k, request) => request() } })
    expect((await t.get()).token).toBe('tok-1')
    expect(s.sets).toEqual([])
  })

  it('uses the source’s token when the single flight fails after the request succeeded, requesting once', async () => {
    const t = setup({
      store: {
        get: () => undefined,
        set: () => {},
        singleFlight: async (_k, request) => {
          await request()
          throw new Error('lock lost')
        },
      },
    })
    expect((await t.get()).token).toBe('tok-1')
    expect(t.calls).toHaveLength(1)
  })

  it('requests itself, logging the failure by name, when the single flight fails before requesting', async () => {
    const t = setup({
      store: {
        get: () => undefined,
        set: () => {},
        singleFlight: async () => {
          throw new RangeError('no lock')
        },
      },
    })
    expect((await t.get()).token).toBe('tok-1')
    expect(warnings(t.logs)).toEqual([
      {
        level: 'warn',
        message: 'second-level token cache single flight failed; requesting without it',
        fields: { error: 'RangeError' },
      },
    ])
  })

  it('requests itself, without a warning, when the single flight answers something that is not a token', async () => {
    for (const answer of [undefined, { token: 't' }, { token: 5, expiresOn: T0 + HOUR }]) {
      const t = setup({
        store: { get: () => undefined, set: () => {}, singleFlight: async () => answer as never },
      })
      expect((await t.get()).token).toBe('tok-1')
      expect(warnings(t.logs)).toEqual([])
    }
  })
})

describe('a token read back from the second-level store', () => {
  // a plain map: the memory store checks expiry on the real clock, these tests run on the injected one
  const mapStore = () => {
    const m = new Map<string, CachedToken>()
    const store: SecondLevelCache = {
      get: (k) => m.get(k),
      set: (k, v) => {
        m.set(k, v)
      },
      delete: (k) => {
        m.delete(k)
      },
    }
    return { store, m }
  }

  it('keeps the safety margin of its whole lifetime: 20 s left of an hour is not served', async () => {
    const { store, m } = mapStore()
    // another instance requested it 59 min 40 s ago, for an hour
    m.set('k:a:https://org', { token: 'old', expiresOn: T0 + 20_000, issuedOn: T0 - HOUR + 20_000 })
    const { get, calls } = setup({ store })
    const served = await get()
    expect(served.token).toBe('tok-1')
    expect(calls).toHaveLength(1)
  })

  it('is served while it is outside its margin, and refreshed from its issuer once due, not from the store', async () => {
    const { store, m } = mapStore()
    m.set('k:a:https://org', { token: 'shared', expiresOn: T0 + 10 * 60_000, issuedOn: T0 - 50 * 60_000 })
    const { get, calls, clock } = setup({ store })
    expect((await get()).token).toBe('shared')
    expect(calls).toHaveLength(0)
    clock.now = T0 + 6 * 60_000 // 4 minutes left: inside the refresh window of an hour-long token
    await get()
    await flush()
    expect(calls.map((c) => c.reason)).toEqual(['refresh'])
    expect((await get()).token).toBe('tok-1')
  })

  it('writes when it was requested, so the next instance knows its lifetime', async () => {
    const { store, m } = mapStore()
    const { get, clock } = setup({ store })
    clock.now = T0 + 5
    await get()
    expect(m.get('k:a:https://org')).toMatchObject({ token: 'tok-1', issuedOn: T0 + 5 })
  })
})
