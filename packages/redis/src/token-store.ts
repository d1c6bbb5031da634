import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisAdapterError } from './errors.ts'
import { type KeyRing, open, resolveKeys, seal } from './key-ring.ts'
import { type RedisCommands, runScript } from './redis-commands.ts'

/** A token as core's token cache keeps it (`CachedToken` of `@dataverse-s2s/core`). */
export interface StoredToken {
  token: string
  expiresOn: number
  refreshOn?: number
  /** When the token was requested: core's safety margins are a share of its whole lifetime. */
  issuedOn?: number
}

/** Options of {@link createRedisTokenStore}. */
export interface RedisTokenStoreOptions {
  redis: RedisCommands
  /** Keys that encrypt tokens at rest; see `parseKeyRing`. */
  keyRing: KeyRing
  /** Prefix of every Redis key (default `dvs2s:`); give each app (and each test run) its own. */
  prefix?: string
  /** Cross-instance single flight. */
  lease?: {
    /** Lease of a token request, renewed every third of it while the request runs; a crashed holder's lease
     * expires after it (default 10,000 ms). */
    ttlMs?: number
    /** How long a waiter waits for another instance's result before requesting itself (default 3 × `ttlMs`). */
    waitMs?: number
    /** How often a waiter looks for the result (default 25 ms). */
    pollMs?: number
  }
  /** Gets warnings (an undecryptable token); never a token or a key. */
  logger?: { warn?(message: string, fields: Record<string, unknown>): void }
}

/** The store: core's `SecondLevelCache`, with cross-instance single flight. */
export interface RedisTokenStore {
  get(key: string): Promise<StoredToken | undefined>
  set(key: string, value: StoredToken, ttlMs: number): Promise<void>
  delete(key: string): Promise<void>
  singleFlight(
    key: string,
    request: () => Promise<StoredToken>,
    seen: StoredToken | undefined,
  ): Promise<StoredToken>
}

const EXTEND_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * A shared, encrypted second level for core's token cache: `createTokenProvider({ cache: { store } })`. Tokens are
 * sealed with AES-256-GCM under the key ring's current key, bound to their Redis key, and expire with the token.
 * On a miss, one instance requests the token under a short lease (`SET NX PX`) while the others wait for its result.
 * @throws {RedisAdapterError} `CONFIG` when the key ring is unusable.
 * @example
 * const store = createRedisTokenStore({ redis, keyRing: parseKeyRing(process.env.TOKEN_CACHE_KEYS as string) })
 * const tokens = createTokenProvider({ clientId, credential, cache: { store } })
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions): RedisTokenStore {
  const keys = resolveKeys(options.keyRing)
  const current = options.keyRing.current
  const redis = options.redis
  const prefix = options.prefix ?? 'dvs2s:'
  const ttlMs = options.lease?.ttlMs ?? 10_000
  const waitMs = options.lease?.waitMs ?? 3 * ttlMs
  const pollMs = options.lease?.pollMs ?? 25
  const log = options.logger

  const get = async (key: string): Promise<StoredToken | undefined> => {
    const full = prefix + key
    const raw = await redis.sendCommand(['GET', full])
    if (typeof raw !== 'string') return undefined
    try {
      const v = JSON.parse(open(keys, raw, full)) as StoredToken
      return typeof v.token === 'string' && typeof v.expiresOn === 'number' ? v : undefined
    } catch (error) {
      log?.warn?.('redis token store: ignoring a cached token that cannot be read', {
        code: error instanceof RedisAdapterError ? error.code : 'PARSE',
        reason: error instanceof RedisAdapterError ? error.message : 'not JSON',
      })
      return undefined
    }
  }

  const set = async (key: string, value: StoredToken, ttl: number): Promise<void> => {
    const px = Math.floor(Math.min(ttl, value.expiresOn - Date.now()))
    if (!(px > 0)) return
    const full = prefix + key
    const plain = JSON.stringify({
      token: value.token,
      expiresOn: value.expiresOn,
      refreshOn: value.refreshOn,
      issuedOn: value.issuedOn,
    })
    await redis.sendCommand(['SET', full, seal(keys, current, plain, full), 'PX', String(px)])
  }

  const fresh = async (key: string, seen: StoredToken | undefined): Promise<StoredToken | undefined> => {
    const v = await get(key)
    if (!v || v.expiresOn <= Date.now()) return undefined
    if (seen && v.token === seen.token && v.expiresOn === seen.expiresOn) return undefined
    return v
  }

  return {
    get,
    set,
    async delete(key) {
      await redis.sendCommand(['DEL', prefix + key])
    },
    async singleFlight(key, request, seen) {
      const lock = `${prefix}lock:${key}`
      const deadline = Date.now() + waitMs
      const requestAndSave = async () => {
        const v = await request()
        await set(key, v, v.expiresOn - Date.now()).catch((error: unknown) => {
          log?.warn?.('redis token store: could not save a token; other instances will request their own', {
            error: error instanceof Error ? error.name : 'unknown',
          })
        })
        return v
      }
      for (;;) {
        const holder = randomUUID()
        if ((await redis.sendCommand(['SET', lock, holder, 'NX', 'PX', String(ttlMs)])) === 'OK') {
          // a slow token request (a loaded machine, Entra ID's retries) keeps its lease; a dead holder stops renewing
          const renew = setInterval(
            () => {
              runScript(redis, EXTEND_LUA, [lock], [holder, String(ttlMs)]).catch(() => {})
            },
            Math.max(10, Math.floor(ttlMs / 3)),
          )
          renew.unref?.()
          try {
            // another instance may have finished between the caller's read and this lock
            const done = await fresh(key, seen)
            if (done) return done
            return await requestAndSave()
          } finally {
            clearInterval(renew)
            await runScript(redis, RELEASE_LUA, [lock], [holder]).catch(() => {})
          }
        }
        // another instance holds the lease: wait for its result, or for the lease to end (done, failed or expired)
        for (;;) {
          if (Date.now() >= deadline) return requestAndSave()
          await sleep(pollMs)
          const done = await fresh(key, seen)
          if (done) return done
          if ((await redis.sendCommand(['EXISTS', lock])) === 0) break
        }
      }
    },
  }
}
