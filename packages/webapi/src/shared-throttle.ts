/** The settings of the adaptive limit, as the client resolved them from its `concurrency` option. */
export interface SharedThrottleSettings {
  /** Starting limit before the first `x-ms-dop-hint`. */
  initial: number
  /** Upper bound, at most 52. */
  max: number
  /** Adapt to `x-ms-dop-hint`, 429s and healthy responses (AIMD); `false` keeps `initial`. */
  adaptive: boolean
  /** How long a lease is held at most: a crashed instance's slots come back after this. */
  leaseMs: number
}

/** What became of a request that held a lease. */
export type SharedOutcome =
  | {
      kind: 'response'
      /** The parsed `x-ms-dop-hint`. */
      dopHint: number | undefined
      /** The parsed `x-ms-ratelimit-burst-remaining-xrm-requests`: requests left in the org's window. */
      remaining: number | undefined
    }
  | { kind: 'throttled'; retryAfterMs: number; concurrencyRelated: boolean }
  | { kind: 'failed' }

/** The answer to {@link SharedThrottle.acquire}. */
export interface SharedGrant {
  /** Granted leases, one per request that may be sent now (at most the number asked for; may be none). */
  leases: string[]
  /** With no lease: how long to wait before asking again (a shared pause, or every slot taken). */
  waitMs: number
  /** The shared concurrency limit now. */
  limit: number
}

/**
 * One throttle budget per org and application user, shared by every instance of an app (e.g. through Redis:
 * `createRedisThrottle` of `@dataverse-s2s/redis`). A 429 pauses every instance; the adaptive concurrency limit is
 * one limit, taken through leases. `scope` names the org and the application user.
 */
export interface SharedThrottle {
  acquire(scope: string, want: number, settings: SharedThrottleSettings): Promise<SharedGrant>
  release(
    scope: string,
    lease: string,
    outcome: SharedOutcome,
    settings: SharedThrottleSettings,
  ): Promise<void>
  /** A cheap round trip, used to notice that the shared store is back after an outage. */
  ping(): Promise<unknown>
}

/** The client's `concurrency.shared` option. */
export interface SharedThrottleOptions {
  throttle: SharedThrottle
  /**
   * The budget's name: Dataverse counts its limits per user, so every client of the same org and application user
   * must use the same scope (default: the org URL; add the application id when several apps share one store).
   */
  scope?: string
  /** Longest time a request holds its lease (default 150,000 ms: above the default per-attempt timeout). */
  leaseMs?: number
  /** While the shared store is unreachable, how often to check whether it is back (default 1,000 ms). */
  recheckMs?: number
}
