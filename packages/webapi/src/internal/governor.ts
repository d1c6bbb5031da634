import { DataverseError } from '../errors.ts'
import type { ClientClock } from '../types.ts'

/** Hard ceiling: Dataverse rejects more than 52 concurrent requests per user immediately (0x80072326). */
export const MAX_CONCURRENCY = 52

/**
 * Responses without a positive `x-ms-dop-hint` after which a governor stops looking for one. Dataverse sends the
 * hint with its responses (Microsoft Learn, "Send parallel requests": its sample reads it from the first response);
 * a server or proxy that has not sent one in this many will not, and reading a header is a share of a fast request.
 */
export const DOP_HINT_PATIENCE = 64

export interface GovernorOptions {
  /** Starting limit before the first `x-ms-dop-hint` arrives. */
  initial: number
  /** Upper bound, at most 52. */
  max: number
  /** Adapt to `x-ms-dop-hint`, 429s and healthy responses; `false` keeps `initial` fixed. */
  adaptive: boolean
  /** Default: real time. */
  clock?: ClientClock | undefined
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * Concurrency limiter and throttle gate for one org (one client and the clients derived from it).
 * AIMD: +1 after `limit` healthy responses, halve on a 429 (once per throttle episode); seeded by `x-ms-dop-hint`.
 * While a `Retry-After` is pending, nothing is sent (Dataverse extends the penalty otherwise).
 */
export class Governor {
  limit: number
  inFlight = 0
  pausedUntil = 0
  private readonly max: number
  private readonly adaptive: boolean
  private hinted = false
  /** Responses seen before a hint was taken (after one, `hinted` alone decides). */
  private unhinted = 0
  private healthy = 0
  /** Until the first concurrency-related throttle, grow by one per healthy response (slow start). */
  private slowStart = true
  /** After a pause, one request probes alone until a response other than 429 arrives. */
  private probing = false
  private readonly queue: (Waiter | undefined)[] = []
  private head = 0
  private waking = false
  private readonly clock: ClientClock | undefined

  constructor(options: GovernorOptions) {
    this.max = Math.max(1, Math.min(MAX_CONCURRENCY, Math.floor(options.max)))
    this.limit = Math.max(1, Math.min(this.max, Math.floor(options.initial)))
    this.adaptive = options.adaptive
    this.clock = options.clock
  }

  /**
   * Only the first positive `x-ms-dop-hint` of an adaptive governor counts: after it, or after
   * {@link DOP_HINT_PATIENCE} responses without one, no response need be read for one.
   */
  get wantsDopHint(): boolean {
    return this.adaptive && !this.hinted && this.unhinted < DOP_HINT_PATIENCE
  }

  /** A governor of one process does not use the burst remainder (a shared one does). */
  readonly wantsRemaining = false

  get queued(): number {
    return this.queue.length - this.head
  }

  /** Takes a slot, or waits for one; `first` puts the waiter at the front (retries go before new work). */
  acquire(signal: AbortSignal | undefined, first = false): Promise<void> | undefined {
    if (this.inFlight < this.cap() && this.queued === 0 && this.now() >= this.pausedUntil) {
      this.inFlight++
      return undefined
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined }
      if (signal) {
        if (signal.aborted) {
          reject(signal.reason)
          return
        }
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter, this.head)
          // Stryker disable next-line ConditionalExpression: index -1 only sets a property no one reads
          if (index >= 0) this.queue[index] = undefined
          reject(signal.reason)
        }
        // Stryker disable next-line ObjectLiteral,BooleanLiteral: abort fires once; the listener is removed when granted
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      if (!first) this.queue.push(waiter)
      // Stryker disable next-line ConditionalExpression,EqualityOperator: at head 0, slot -1 is read first by the same drain loop
      else if (this.head > 0) this.queue[--this.head] = waiter
      else this.queue.unshift(waiter)
      this.drain()
    })
  }

  release(): void {
    this.inFlight--
    this.drain()
  }

  /** A response arrived; `dopHint` is the parsed `x-ms-dop-hint`. */
  onResponse(dopHint: number | undefined): void {
    // Stryker disable next-line ConditionalExpression: an extra drain grants nothing the limits do not allow
    if (this.probing) {
      this.probing = false
      this.drain()
    }
    if (!this.adaptive) return
    // Stryker disable next-line ConditionalExpression: undefined > 0 is false as well
    if (dopHint !== undefined && !this.hinted && dopHint > 0) {
      this.hinted = true
      this.limit = Math.max(1, Math.min(this.max, dopHint))
      this.healthy = 0
      this.drain()
      return
    }
    this.unhinted++
    if (this.limit >= this.max) return
    if (this.slowStart || ++this.healthy >= this.limit) {
      this.limit++
      this.healthy = 0
      this.drain()
    }
  }

  /**
   * A 429 arrived: pause everything for `retryAfterMs`. When the limit hit is about concurrency or execution time
   * (`concurrencyRelated`), also halve the limit, once per episode; the request-count limit only needs the pause.
   */
  onThrottle(retryAfterMs: number, concurrencyRelated: boolean): void {
    const now = this.now()
    if (this.adaptive && concurrencyRelated && now >= this.pausedUntil) {
      this.limit = Math.max(1, Math.floor(this.limit / 2))
      this.healthy = 0
      this.slowStart = false
    }
    this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs)
    this.probing = true
    this.drain()
  }

  private now(): number {
    return this.clock ? this.clock.now() : Date.now()
  }

  /** How long this governor's pause still lasts, on its own clock (0 when not paused). */
  pauseRemainingMs(): number {
    return Math.max(0, this.pausedUntil - this.now())
  }

  private cap(): number {
    return this.probing ? 1 : this.limit
  }

  private drain(): void {
    const wait = this.pausedUntil - this.now()
    if (wait > 0) {
      if (this.queued > 0 && !this.waking) {
        this.waking = true
        const wake = () => {
          this.waking = false
          this.drain()
        }
        if (this.clock) void this.clock.sleep(wait).then(wake, wake)
        else setTimeout(wake, wait)
      }
      return
    }
    while (this.inFlight < this.cap() && this.head < this.queue.length) {
      const waiter = this.queue[this.head]
      this.queue[this.head++] = undefined
      if (!waiter) continue
      // Stryker disable next-line LogicalOperator: a waiter has both or neither
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort)
      this.inFlight++
      waiter.resolve()
    }
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator: when to compact only changes memory, never the order
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}

export function abortError(signal: AbortSignal, method: string, path: string): DataverseError {
  const reason: unknown = signal.reason
  if (reason instanceof DataverseError) return reason
  return new DataverseError('ABORTED', `${method} ${path} was aborted by the caller.`, {
    method,
    path,
    cause: reason,
  })
}
