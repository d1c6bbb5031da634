import { type LruEntry, LruMap } from './internal/lru.ts'
import type { Logger } from './logger.ts'
import { lookupAttributes, type TelemetryAttributes, type TokenTelemetry } from './telemetry.ts'

/** An app-only access token, as {@link TokenProvider.getToken} returns it. */
export interface AccessToken {
  /** The bearer token. Never log it. */
  readonly token: string
  readonly expiresOn: Date
}

/** A token as kept by a {@link SecondLevelCache}: plain data, times in epoch milliseconds. */
export interface CachedToken {
  token: string
  expiresOn: number
  /** When the issuer asked for a refresh (`refresh_in`), if it did. */
  refreshOn?: number
  /**
   * When the token was requested (ms since the epoch). A store must keep it: the safety margins are a share of the
   * token's whole lifetime, which the time left alone does not tell (a token read back with 20 s left of an hour is
   * not one of 200 s). The cache sets it on every token it requests.
   */
  issuedOn?: number
}

/**
 * A shared store behind the in-process cache, so several instances of an app can share tokens (Redis, a KV, a
 * database). Keys look like `dvs2s:v1:{cloud}:{tenant}:{client}:{resource}` and hold no secret; values are tokens,
 * so keep the store private. Methods may be sync or async; a failing store is logged and bypassed.
 */
export interface SecondLevelCache {
  get(key: string): Promise<CachedToken | undefined> | CachedToken | undefined
  /** `ttlMs` is how long the value stays useful (until its expiry). */
  set(key: string, value: CachedToken, ttlMs: number): Promise<void> | void
  delete?(key: string): Promise<void> | void
  /**
   * Cross-instance single flight: run `request` only when no other instance is already requesting `key`, else wait
   * for that instance's result and return it. The store saves the result itself (the cache then skips `set`).
   * `seen` is the value the cache just read from the store (stale, or `undefined`): any other value found there
   * while waiting is the fresh result. Without this method, each instance requests its own token on a miss.
   */
  singleFlight?(
    key: string,
    request: () => Promise<CachedToken>,
    seen: CachedToken | undefined,
  ): Promise<CachedToken>
}

/**
 * An in-memory {@link SecondLevelCache}, e.g. to share tokens between several providers of one process, or as a
 * model for a Redis implementation.
 * @param maxEntries - bound of the store (default 100,000), least recently used first out
 * @example
 * // Two providers of one process (say, two app registrations' worth of settings) share their tokens.
 * const store = createMemoryTokenStore()
 * const tokens = createTokenProvider({ clientId, credential, cache: { store } })
 */
export function createMemoryTokenStore(maxEntries = 100_000): SecondLevelCache & { readonly size: number } {
  const map = new LruMap<string, LruEntry & { value: CachedToken }>(maxEntries)
  return {
    get size() {
      return map.size
    },
    get(key) {
      const v = map.get(key)?.value
      if (v && v.expiresOn <= Date.now()) {
        map.delete(key)
        return undefined
      }
      return v
    },
    set(key, value) {
      map.set(key, { value: { ...value }, lruReferenced: false })
    },
    delete(key) {
      map.delete(key)
    },
  }
}

/** When tokens are refreshed and how a failed refresh is retried. */
export interface RefreshOptions {
  /** Refresh this long before expiry when the issuer sent no `refresh_in` (default 5 minutes, at most half the lifetime). */
  beforeExpiryMs?: number
  /** Stop serving a token this long before it expires (default 30 s, at most a tenth of the lifetime). */
  expirySkewMs?: number
  /** First wait after a failed background refresh (default 2 s), doubled each time. */
  retryBaseMs?: number
  /** Longest wait between retries of a failed background refresh (default 60 s). */
  retryMaxMs?: number
}

/** Counters of a token cache, for metrics. */
export interface TokenCacheStats {
  /** Tokens held in memory now. */
  size: number
  hits: number
  misses: number
  /** Calls to the token source (MSAL), i.e. token requests. */
  requests: number
  /** Background refreshes started. */
  refreshes: number
  refreshFailures: number
  /** Tokens taken from the second-level cache. */
  sharedHits: number
  evictions: number
}

export interface TokenRequestContext {
  key: string
  tenantId: string
  resource: string
  reason: 'miss' | 'refresh'
}

export type TokenSource = (ctx: TokenRequestContext) => Promise<CachedToken>

interface Entry extends LruEntry {
  readonly tenantId: string
  readonly resource: string
  readonly result: AccessToken
  /** Resolved with `result`, returned to every hit: a hit allocates nothing. */
  readonly promise: Promise<AccessToken>
  readonly token: CachedToken
  readonly expiresOn: number
  readonly usableUntil: number
  readonly refreshAt: number
  failures: number
  nextAttemptAt: number
  /** The attributes of a hit on this token, when telemetry is on. */
  readonly hitAttributes: TelemetryAttributes | undefined
}

export interface TokenCacheOptions {
  source: TokenSource
  /** The full key (also the second-level cache key) of a tenant + resource; built on misses only. */
  keyOf: (tenantId: string, resource: string) => string
  maxEntries?: number
  store?: SecondLevelCache
  refresh?: RefreshOptions
  logger: Required<Logger>
  now?: () => number
  telemetry?: TokenTelemetry | undefined
}

/**
 * The multi-tenant token cache: O(1) LRU by key, single-flight per key, background refresh ahead of expiry, a
 * failed refresh keeps serving the valid token and retries with back-off, optional shared second level.
 */
export class TokenCache {
  readonly #entries: LruMap<string, Entry>
  // tenant -> entry (the usual case: one resource per tenant) or tenant -> resource -> entry: hits look up the
  // caller's own strings, so they build no key, allocate nothing and touch as little memory as possible
  readonly #index = new Map<string, Entry | Map<string, Entry>>()
  readonly #keyOf: (tenantId: string, resource: string) => string
  readonly #inflight = new Map<string, Promise<Entry>>()
  readonly #source: TokenSource
  readonly #store: SecondLevelCache | undefined
  readonly #log: Required<Logger>
  readonly #now: () => number
  readonly #telemetry: TokenTelemetry | undefined
  readonly #beforeExpiry: number
  readonly #skew: number
  readonly #retryBase: number
  readonly #retryMax: number
  readonly #stats: Omit<TokenCacheStats, 'size'> = {
    hits: 0,
    misses: 0,
    requests: 0,
    refreshes: 0,
    refreshFailures: 0,
    sharedHits: 0,
    evictions: 0,
  }

  constructor(options: TokenCacheOptions) {
    this.#entries = new LruMap(options.maxEntries ?? 10_000, (_key, evicted) => {
      this.#stats.evictions++
      this.#unindex(evicted)
    })
    this.#keyOf = options.keyOf
    this.#source = options.source
    this.#store = options.store
    this.#log = options.logger
    this.#now = options.now ?? Date.now
    this.#telemetry = options.telemetry
    this.#beforeExpiry = options.refresh?.beforeExpiryMs ?? 5 * 60_000
    this.#skew = options.refresh?.expirySkewMs ?? 30_000
    this.#retryBase = options.refresh?.retryBaseMs ?? 2_000
    this.#retryMax = options.refresh?.retryMaxMs ?? 60_000
  }

  stats(): TokenCacheStats {
    return { size: this.#entries.size, ...this.#stats }
  }

  /** Serves from memory when valid (starting a background refresh when due), else joins or starts one request. */
  get(tenantId: string, resource: string): Promise<AccessToken> {
    const entry = this.#lookup(tenantId, resource)
    if (entry !== undefined) {
      entry.lruReferenced = true
      const now = this.#now()
      if (now < entry.usableUntil) {
        this.#stats.hits++
        // Stryker disable next-line ConditionalExpression,OptionalChaining: hitAttributes is set only when telemetry.lookups exists
        if (entry.hitAttributes) this.#telemetry?.lookups?.add(1, entry.hitAttributes)
        if (now >= entry.refreshAt && now >= entry.nextAttemptAt) this.#maybeRefresh(entry)
        return entry.promise
      }
    }
    this.#stats.misses++
    this.#telemetry?.lookups?.add(1, lookupAttributes(tenantId, resource, 'miss'))
    const key = this.#keyOf(tenantId, resource)
    const pending = this.#inflight.get(key)
    if (pending) return pending.then((e) => e.result)
    return this.#start(key, tenantId, resource, 'miss').then((e) => e.result)
  }

  invalidate(tenantId: string, resource: string): void {
    const key = this.#keyOf(tenantId, resource)
    const entry = this.#lookup(tenantId, resource)
    if (entry) this.#unindex(entry)
    this.#entries.delete(key)
    try {
      // Stryker disable next-line OptionalChaining: without a store or its delete, the TypeError is swallowed by this best-effort try just the same
      const r = this.#store?.delete?.(key)
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => {})
    } catch {
      // the shared store is best effort
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#index.clear()
  }

  #maybeRefresh(entry: Entry): void {
    const key = this.#keyOf(entry.tenantId, entry.resource)
    if (!this.#inflight.has(key)) this.#refreshInBackground(key, entry.tenantId, entry.resource, entry)
  }

  #lookup(tenantId: string, resource: string): Entry | undefined {
    const slot = this.#index.get(tenantId)
    if (slot === undefined) return undefined
    if (slot instanceof Map) return slot.get(resource)
    return slot.resource === resource ? slot : undefined
  }

  #put(key: string, entry: Entry): void {
    const old = this.#lookup(entry.tenantId, entry.resource)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: without it, the new entry takes the old one's place in its slot anyway (a lone entry becomes a one-resource map); only the index's shape differs
    if (old && old !== entry) this.#unindex(old)
    const slot = this.#index.get(entry.tenantId)
    if (slot === undefined) this.#index.set(entry.tenantId, entry)
    else if (slot instanceof Map) slot.set(entry.resource, entry)
    else {
      // a second resource for this tenant: switch to a map of its resources
      const byResource = new Map<string, Entry>([[slot.resource, slot]])
      byResource.set(entry.resource, entry)
      this.#index.set(entry.tenantId, byResource)
    }
    this.#entries.set(key, entry)
  }

  #unindex(entry: Entry): void {
    const slot = this.#index.get(entry.tenantId)
    if (slot === entry) {
      this.#index.delete(entry.tenantId)
      return
    }
    // Stryker disable next-line ConditionalExpression,LogicalOperator: entries are unindexed only while indexed (evicted or invalidated current entries), so this guard never returns
    if (!(slot instanceof Map) || slot.get(entry.resource) !== entry) return
    slot.delete(entry.resource)
    // Stryker disable next-line ConditionalExpression: an empty resource map left behind is looked up like a missing tenant; only memory differs
    if (slot.size === 0) this.#index.delete(entry.tenantId)
  }

  #start(key: string, tenantId: string, resource: string, reason: 'miss' | 'refresh'): Promise<Entry> {
    const p = this.#acquire(key, tenantId, resource, reason).finally(() => {
      // Stryker disable next-line ConditionalExpression: a key gets a new request only when none is in flight, so the one in flight is always p
      if (this.#inflight.get(key) === p) this.#inflight.delete(key)
    })
    this.#inflight.set(key, p)
    return p
  }

  #refreshInBackground(key: string, tenantId: string, resource: string, entry: Entry): void {
    this.#stats.refreshes++
    this.#telemetry?.refreshes?.add(1, { 'tenant.id': tenantId, 'dataverse.resource': resource })
    this.#log.debug('refreshing token ahead of expiry', { tenantId, resource })
    this.#start(key, tenantId, resource, 'refresh').catch((error: unknown) => {
      this.#stats.refreshFailures++
      this.#telemetry?.refreshFailures?.add(1, {
        'tenant.id': tenantId,
        'dataverse.resource': resource,
        'error.type': (error as { code?: string }).code ?? 'unknown',
      })
      entry.failures++
      const wait = Math.min(this.#retryMax, this.#retryBase * 2 ** (entry.failures - 1))
      const now = this.#now()
      // retry at the latest shortly before the token stops being served, so it is renewed in time if possible
      entry.nextAttemptAt = Math.min(now + wait, Math.max(now, entry.usableUntil - this.#retryBase))
      this.#log.warn('background token refresh failed; still serving the valid token', {
        tenantId,
        resource,
        code: (error as { code?: string }).code,
        attempt: entry.failures,
        retryInMs: entry.nextAttemptAt - now,
      })
    })
  }

  async #acquire(
    key: string,
    tenantId: string,
    resource: string,
    reason: 'miss' | 'refresh',
  ): Promise<Entry> {
    const shared = await this.#readStore(key)
    if (shared) {
      const e = this.#makeEntry(shared, tenantId, resource)
      if (this.#now() < (reason === 'refresh' ? e.refreshAt : e.usableUntil)) {
        this.#stats.sharedHits++
        this.#put(key, e)
        return e
      }
    }
    const request = async (): Promise<CachedToken> => {
      this.#stats.requests++
      this.#log.debug(reason === 'miss' ? 'requesting token' : 'requesting fresh token', {
        tenantId,
        resource,
      })
      const requestedAt = this.#now()
      const token = await this.#source({ key, tenantId, resource, reason })
      return token.issuedOn === undefined ? { ...token, issuedOn: requestedAt } : token
    }
    let flown: CachedToken | undefined
    if (this.#store?.singleFlight) {
      try {
        flown = await this.#singleFlight(key, request, shared)
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code !== 'NETWORK' && code !== 'TIMEOUT') throw error
        // our request failed on the way (a loaded machine, a lost connection) and released the lease: another
        // instance's waiter takes it over, so join that request rather than fail this instance's callers; with no
        // other instance this is one more attempt
        this.#log.warn('token request failed on the way; joining or repeating it once', {
          tenantId,
          resource,
          code,
        })
        flown = await this.#singleFlight(key, request, shared)
      }
    }
    const token = flown ?? (await request())
    const e = this.#makeEntry(token, tenantId, resource)
    this.#put(key, e)
    if (!flown) await this.#writeStore(key, token)
    return e
  }

  /** The shared store's cross-instance single flight; `undefined` when there is none or the store failed. */
  async #singleFlight(
    key: string,
    request: () => Promise<CachedToken>,
    seen: CachedToken | undefined,
  ): Promise<CachedToken | undefined> {
    // Stryker disable next-line ConditionalExpression,OptionalChaining: only called when the store has singleFlight; the guard is for the types
    if (!this.#store?.singleFlight) return undefined
    let outcome: { token: CachedToken } | { error: unknown } | undefined
    const tracked = () =>
      request().then(
        (token) => {
          outcome = { token }
          return token
        },
        (error: unknown) => {
          outcome = { error }
          throw error
        },
      )
    try {
      const v = await this.#store.singleFlight(key, tracked, seen)
      if (typeof v?.token === 'string' && typeof v.expiresOn === 'number') return v
    } catch (error) {
      // the token source's own answer wins; a store failure only costs the coordination
      if (outcome && 'error' in outcome) throw outcome.error
      if (outcome) return outcome.token
      this.#log.warn('second-level token cache single flight failed; requesting without it', {
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
    return undefined
  }

  #makeEntry(token: CachedToken, tenantId: string, resource: string): Entry {
    const now = this.#now()
    const lifetime = Math.max(0, token.expiresOn - Math.min(token.issuedOn ?? now, now))
    const usableUntil = token.expiresOn - Math.min(this.#skew, lifetime / 10)
    let refreshAt = token.expiresOn - Math.min(this.#beforeExpiry, lifetime / 2)
    if (token.refreshOn !== undefined && token.refreshOn < token.expiresOn) refreshAt = token.refreshOn
    refreshAt = Math.min(refreshAt, usableUntil)
    const result: AccessToken = Object.freeze({ token: token.token, expiresOn: new Date(token.expiresOn) })
    const promise = Promise.resolve(result)
    return {
      tenantId,
      resource,
      result,
      promise,
      token,
      expiresOn: token.expiresOn,
      usableUntil,
      refreshAt,
      failures: 0,
      nextAttemptAt: 0,
      hitAttributes: this.#telemetry?.lookups ? lookupAttributes(tenantId, resource, 'hit') : undefined,
      lruReferenced: false,
    }
  }

  async #readStore(key: string): Promise<CachedToken | undefined> {
    if (!this.#store) return undefined
    try {
      const v = await this.#store.get(key)
      if (v && typeof v.token === 'string' && typeof v.expiresOn === 'number') return v
    } catch (error) {
      this.#log.warn('second-level token cache read failed; asking Entra ID instead', {
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
    return undefined
  }

  async #writeStore(key: string, token: CachedToken): Promise<void> {
    if (!this.#store) return
    try {
      await this.#store.set(key, token, Math.max(0, token.expiresOn - this.#now()))
    } catch (error) {
      this.#log.warn('second-level token cache write failed', {
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
}
