import type { SharedOutcome, SharedThrottle, SharedThrottleSettings } from '../shared-throttle.ts'
import type { ClientClock, ConcurrencyOptions, Logger } from '../types.ts'
import { Governor, MAX_CONCURRENCY } from './governor.ts'

/** What the pipeline needs from a concurrency limiter and throttle gate. */
export interface Gate {
  readonly limit: number
  acquire(signal: AbortSignal | undefined, first?: boolean): Promise<void> | undefined
  release(): void
  onResponse(dopHint: number | undefined, remaining?: number): void
  /** Whether `onResponse` would use an `x-ms-dop-hint` (reading a response header is not free). */
  readonly wantsDopHint: boolean
  /** Whether `onResponse` would use `x-ms-ratelimit-burst-remaining-xrm-requests`. */
  readonly wantsRemaining: boolean
  onThrottle(retryAfterMs: number, concurrencyRelated: boolean): void
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  done: boolean
}

export interface SharedGovernorOptions {
  local: Governor
  throttle: SharedThrottle
  scope: string
  settings: SharedThrottleSettings
  recheckMs: number
  logger: Logger | undefined
}

/** Polling bound while every shared slot is taken and no local release can wake the pump. */
const MAX_POLL_MS = 25

/**
 * A gate whose pause and concurrency limit are shared by every instance through a {@link SharedThrottle}. When the
 * store fails, this instance falls back to its local governor (with a warning) and returns once the store answers.
 * Leases are fungible within the process: a release gives back any lease this instance holds.
 */
export class SharedGovernor implements Gate {
  readonly #local: Governor
  readonly #throttle: SharedThrottle
  readonly #scope: string
  readonly #settings: SharedThrottleSettings
  readonly #recheckMs: number
  readonly #log: Logger | undefined
  readonly #queue: Waiter[] = []
  readonly #held: string[] = []
  #limit: number
  #degraded = false
  #pumping = false
  #wake: (() => void) | undefined
  #outcome: SharedOutcome | undefined
  #recheck: ReturnType<typeof setTimeout> | undefined

  constructor(options: SharedGovernorOptions) {
    this.#local = options.local
    this.#throttle = options.throttle
    this.#scope = options.scope
    this.#settings = options.settings
    this.#recheckMs = options.recheckMs
    this.#log = options.logger
    this.#limit = options.local.limit
  }

  get limit(): number {
    return this.#degraded ? this.#local.limit : this.#limit
  }

  /** The shared throttle learns from every response. */
  readonly wantsDopHint = true
  readonly wantsRemaining = true

  /** `true` while the shared store is unreachable and this instance governs alone. */
  get degraded(): boolean {
    return this.#degraded
  }

  acquire(signal: AbortSignal | undefined, first = false): Promise<void> | undefined {
    if (this.#degraded) return this.#local.acquire(signal, first)
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, done: false }
      if (signal) {
        waiter.onAbort = () => {
          if (waiter.done) return
          waiter.done = true
          reject(signal.reason)
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      if (first) this.#queue.unshift(waiter)
      else this.#queue.push(waiter)
      void this.#pump()
    })
  }

  release(): void {
    const outcome = this.#outcome ?? { kind: 'failed' }
    this.#outcome = undefined
    // leases and local slots are fungible: the counts stay right, though across a switch of mode a slot may come
    // back to the other pool for a moment
    const lease = this.#held.pop()
    if (lease === undefined) {
      this.#local.release()
      return
    }
    this.#throttle.release(this.#scope, lease, outcome, this.#settings).then(
      () => this.#wake?.(),
      (error: unknown) => this.#degrade(error),
    )
  }

  onResponse(dopHint: number | undefined, remaining?: number): void {
    this.#local.onResponse(dopHint)
    this.#outcome = { kind: 'response', dopHint, remaining }
  }

  onThrottle(retryAfterMs: number, concurrencyRelated: boolean): void {
    this.#local.onThrottle(retryAfterMs, concurrencyRelated)
    this.#outcome = { kind: 'throttled', retryAfterMs, concurrencyRelated }
  }

  /** Stops the recheck timer (the client never needs it; tests and shutdown do). */
  close(): void {
    clearTimeout(this.#recheck)
  }

  #live(): number {
    let n = 0
    for (const w of this.#queue) if (!w.done) n++
    return n
  }

  #next(): Waiter | undefined {
    for (;;) {
      const w = this.#queue.shift()
      if (w === undefined || !w.done) return w
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      for (;;) {
        const want = this.#live()
        if (want === 0) return
        if (this.#degraded) {
          this.#handOver()
          return
        }
        // this instance's own 429 pauses it at once, before the shared pause is written
        // on the local governor's clock (the client's `clock` option), which set the pause
        const pause = this.#local.pauseRemainingMs()
        if (pause > 0) {
          await this.#sleep(pause)
          continue
        }
        let grant: Awaited<ReturnType<SharedThrottle['acquire']>>
        try {
          grant = await this.#throttle.acquire(this.#scope, want, this.#settings)
        } catch (error) {
          this.#degrade(error)
          continue
        }
        this.#limit = grant.limit
        for (const lease of grant.leases) {
          const w = this.#next()
          if (!w) {
            // the caller gave up meanwhile: hand the lease straight back
            this.#throttle.release(this.#scope, lease, { kind: 'failed' }, this.#settings).catch(() => {})
            continue
          }
          w.done = true
          if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort)
          this.#held.push(lease)
          w.resolve()
        }
        if (grant.leases.length === 0) await this.#sleep(Math.max(1, grant.waitMs))
      }
    } finally {
      this.#pumping = false
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, MAX_POLL_MS))
      const self = this
      function done() {
        clearTimeout(timer)
        if (self.#wake === done) self.#wake = undefined
        resolve()
      }
      // a local release may free a slot: ask again at once (unless paused)
      this.#wake = ms > MAX_POLL_MS ? undefined : done
    })
  }

  /** Waiters queued for the shared store go to the local governor. */
  #handOver(): void {
    for (let w = this.#next(); w; w = this.#next()) {
      const waiter = w
      waiter.done = true
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort)
      const waiting = this.#local.acquire(waiter.signal)
      if (!waiting) waiter.resolve()
      else waiting.then(waiter.resolve, waiter.reject)
    }
  }

  #degrade(error: unknown): void {
    if (this.#degraded) return
    this.#degraded = true
    this.#log?.warn?.(
      'dataverse: shared throttle unavailable; this instance governs alone until it returns',
      {
        scope: this.#scope,
        error: error instanceof Error ? error.name : 'unknown',
      },
    )
    void this.#pump()
    this.#scheduleRecheck()
  }

  #scheduleRecheck(): void {
    clearTimeout(this.#recheck)
    this.#recheck = setTimeout(() => {
      this.#throttle.ping().then(
        () => {
          this.#degraded = false
          this.#log?.warn?.('dataverse: shared throttle is back; this instance shares the org budget again', {
            scope: this.#scope,
          })
        },
        () => this.#scheduleRecheck(),
      )
    }, this.#recheckMs)
    this.#recheck.unref?.()
  }
}

/** The client's gate: a local governor, shared through `concurrency.shared` when given. */
export function resolveGate(
  concurrency: number | ConcurrencyOptions | undefined,
  orgUrl: string,
  logger: Logger | undefined,
  clock?: ClientClock,
): Gate {
  const fixed = typeof concurrency === 'number'
  const local = fixed
    ? new Governor({ initial: concurrency, max: concurrency, adaptive: false, clock })
    : new Governor({
        initial: concurrency?.initial ?? 8,
        max: concurrency?.max ?? MAX_CONCURRENCY,
        adaptive: concurrency?.adaptive ?? true,
        clock,
      })
  if (fixed || !concurrency?.shared) return local
  const shared = concurrency.shared
  return new SharedGovernor({
    local,
    throttle: shared.throttle,
    scope: shared.scope ?? orgUrl,
    settings: {
      initial: local.limit,
      max: Math.max(1, Math.min(MAX_CONCURRENCY, Math.floor(concurrency.max ?? MAX_CONCURRENCY))),
      adaptive: concurrency.adaptive ?? true,
      leaseMs: shared.leaseMs ?? 150_000,
    },
    recheckMs: shared.recheckMs ?? 1_000,
    logger,
  })
}
