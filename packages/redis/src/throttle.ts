import { randomUUID } from 'node:crypto'
import { NOW_LUA, type RedisCommands, runScript } from './redis-commands.ts'

/** The settings of the shared limit (`SharedThrottleSettings` of `@dataverse-s2s/webapi`). */
export interface ThrottleSettings {
  initial: number
  max: number
  adaptive: boolean
  leaseMs: number
}

/** What became of a leased request (`SharedOutcome` of `@dataverse-s2s/webapi`). */
export type ThrottleOutcome =
  | { kind: 'response'; dopHint: number | undefined; remaining: number | undefined }
  | { kind: 'throttled'; retryAfterMs: number; concurrencyRelated: boolean }
  | { kind: 'failed' }

/** webapi's `SharedThrottle`, kept in Redis. */
export interface RedisThrottle {
  acquire(
    scope: string,
    want: number,
    settings: ThrottleSettings,
  ): Promise<{ leases: string[]; waitMs: number; limit: number }>
  release(scope: string, lease: string, outcome: ThrottleOutcome, settings: ThrottleSettings): Promise<void>
  ping(): Promise<unknown>
}

/** Options of {@link createRedisThrottle}. */
export interface RedisThrottleOptions {
  redis: RedisCommands
  /** Prefix of every Redis key (default `dvs2s:`). */
  prefix?: string
  /** How soon to ask again when every shared slot is taken (default 10 ms; a release in this instance asks at once). */
  pollMs?: number
}

// Leases are members of a sorted set scored by their expiry (Redis's clock), so a crashed instance's slots come
// back by themselves. The state hash holds the one limit (AIMD as in webapi's local governor), the pause, the probe
// flag and an estimate of the requests left in Dataverse's window (from x-ms-ratelimit-burst-remaining-xrm-requests).
const ACQUIRE = `${NOW_LUA}
local want, initial, max, leaseMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local s = redis.call('HMGET', KEYS[1], 'limit', 'pausedUntil', 'probing', 'budget')
local limit = tonumber(s[1])
if not limit then
  limit = math.max(1, math.min(max, initial))
  redis.call('HSET', KEYS[1], 'limit', limit, 'slow', 1)
end
if limit > max then limit = max end
local paused = tonumber(s[2]) or 0
if paused > now then return {limit, paused - now} end
local inflight = redis.call('ZCARD', KEYS[2])
local cap = limit
if s[3] == '1' then cap = 1 end
local free = cap - inflight
local budget = tonumber(s[4])
if budget then
  if budget < free then free = budget end
  if free < 1 and inflight == 0 then free = 1 end
end
if free < 1 then return {limit, -1} end
local n = math.min(want, free)
if budget then redis.call('HSET', KEYS[1], 'budget', math.max(0, budget - n)) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', n)
local out = {limit, 0}
for i = 1, n do
  local id = ARGV[5] .. ':' .. (seq - n + i)
  redis.call('ZADD', KEYS[2], now + leaseMs, id)
  out[#out + 1] = id
end
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('PEXPIRE', KEYS[2], leaseMs + 60000)
return out`

const RELEASE = `${NOW_LUA}
local lease, kind, max, adaptive = ARGV[1], ARGV[2], tonumber(ARGV[7]), ARGV[8] == '1'
local mine = tonumber(string.match(lease, ':(%d+)$')) or 0
local older = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local n = tonumber(string.match(id, ':(%d+)$')) or 0
  if n < mine then older = older + 1 end
end
local held = redis.call('ZREM', KEYS[2], lease)
if kind == 'response' then
  local s = redis.call('HMGET', KEYS[1], 'limit', 'hinted', 'healthy', 'slow', 'probing', 'seq')
  if s[5] == '1' then redis.call('HSET', KEYS[1], 'probing', 0) end
  local remaining = tonumber(ARGV[4])
  if remaining then
    -- left in the window when this request was admitted, less every request granted after it and those granted
    -- before it that were still out (they may have been admitted later)
    local seq = tonumber(s[6]) or mine
    redis.call('HSET', KEYS[1], 'budget', math.max(0, remaining - (seq - mine) - older))
  end
  if adaptive then
    local limit = tonumber(s[1]) or 1
    local hint = tonumber(ARGV[3])
    if hint and hint > 0 and s[2] ~= '1' then
      redis.call('HSET', KEYS[1], 'hinted', 1, 'limit', math.max(1, math.min(max, hint)), 'healthy', 0)
    elseif limit < max then
      local healthy = (tonumber(s[3]) or 0) + 1
      if s[4] == '1' or healthy >= limit then
        redis.call('HSET', KEYS[1], 'limit', limit + 1, 'healthy', 0)
      else
        redis.call('HSET', KEYS[1], 'healthy', healthy)
      end
    end
  end
elseif kind == 'throttled' then
  local s = redis.call('HMGET', KEYS[1], 'limit', 'pausedUntil')
  local paused = tonumber(s[2]) or 0
  if adaptive and ARGV[6] == '1' and now >= paused then
    redis.call('HSET', KEYS[1], 'limit', math.max(1, math.floor((tonumber(s[1]) or 1) / 2)), 'healthy', 0, 'slow', 0)
  end
  redis.call('HSET', KEYS[1], 'pausedUntil', math.max(paused, now + tonumber(ARGV[5])), 'probing', 1)
  if ARGV[6] ~= '1' then redis.call('HSET', KEYS[1], 'budget', 0) end
end
return held`

/**
 * One throttle budget per org and application user for every instance of an app, for webapi's
 * `concurrency: { shared: { throttle } }`: a 429's `Retry-After` pauses all instances, the adaptive concurrency
 * limit is one limit held through leases (a crashed instance's leases expire), and the requests left in the org's
 * window (`x-ms-ratelimit-burst-remaining-xrm-requests`) are spent once, so the instances stop before a 429.
 * @example
 * const throttle = createRedisThrottle({ redis })
 * const client = createDataverseClient({
 *   url: tenant.orgUrl,
 *   getToken: (resource) => tokens.getToken({ tenantId: tenant.tenantId, resource }),
 *   concurrency: { shared: { throttle } },
 * })
 */
export function createRedisThrottle(options: RedisThrottleOptions): RedisThrottle {
  const redis = options.redis
  const prefix = options.prefix ?? 'dvs2s:'
  const pollMs = options.pollMs ?? 10
  const instance = randomUUID().slice(0, 8)
  // the braces keep a scope's keys in one slot of a Redis Cluster
  const keysOf = (scope: string) => [
    `${prefix}throttle:{${scope}}:state`,
    `${prefix}throttle:{${scope}}:leases`,
  ]
  return {
    async acquire(scope, want, settings) {
      const r = (await runScript(redis, ACQUIRE, keysOf(scope), [
        String(Math.max(1, Math.floor(want))),
        String(settings.initial),
        String(settings.max),
        String(Math.max(1, Math.floor(settings.leaseMs))),
        instance,
      ])) as [number, number, ...string[]]
      const [limit, wait, ...leases] = r
      return { leases, waitMs: wait === -1 ? pollMs : Math.max(0, wait), limit }
    },
    async release(scope, lease, outcome, settings) {
      await runScript(redis, RELEASE, keysOf(scope), [
        lease,
        outcome.kind,
        outcome.kind === 'response' && outcome.dopHint !== undefined ? String(outcome.dopHint) : '',
        outcome.kind === 'response' && outcome.remaining !== undefined ? String(outcome.remaining) : '',
        outcome.kind === 'throttled' ? String(Math.max(0, Math.ceil(outcome.retryAfterMs))) : '0',
        outcome.kind === 'throttled' && outcome.concurrencyRelated ? '1' : '0',
        String(settings.max),
        settings.adaptive ? '1' : '0',
      ])
    },
    ping: () => redis.sendCommand(['PING']),
  }
}
