import type { ServiceProtectionLimits } from '../world/dataverse-seed.ts'
import { DataverseFault } from './errors.ts'

export type { ServiceProtectionLimits } from '../world/dataverse-seed.ts'

/** Dataverse's defaults. */
export const DEFAULT_LIMITS: ServiceProtectionLimits = {
  requestsPerWindow: 6000,
  windowSeconds: 300,
  executionTimeMs: 1_200_000,
  concurrentRequests: 52,
  recommendedDegreeOfParallelism: 4,
}

class CallerWindow {
  /** Start times (ms) of requests in the window, oldest first, from `head`. */
  times: number[] = []
  durations: number[] = []
  head = 0
  /** Absolute position of `times[0]` since the window was created (compaction shifts the arrays). */
  base = 0
  totalMs = 0
  concurrent = 0

  prune(now: number, windowMs: number): void {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - windowMs) {
      this.totalMs -= this.durations[this.head] as number
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head)
      this.durations = this.durations.slice(this.head)
      this.base += this.head
      this.head = 0
    }
  }

  get count(): number {
    return this.times.length - this.head
  }
}

/** A ticket for one admitted request; call `done()` when it has been answered. */
export interface Admission {
  headers: Record<string, string>
  done(): void
}

/** Per-caller accounting of Dataverse's service protection limits (requests, execution time, concurrency). */
export class Limiter {
  private readonly callers = new Map<string, CallerWindow>()
  limits: ServiceProtectionLimits = { ...DEFAULT_LIMITS }

  constructor(private readonly now: () => number = Date.now) {}

  set(limits: Partial<ServiceProtectionLimits>): void {
    for (const [k, v] of Object.entries(limits)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new RangeError(`Service protection limit '${k}' must be a positive number.`)
      }
    }
    this.limits = { ...this.limits, ...limits }
  }

  reset(): void {
    this.callers.clear()
  }

  /** Count `extra` more requests for a caller already admitted (the inner requests of a `$batch`). */
  charge(callerId: string, extra: number): void {
    const w = this.callers.get(callerId)
    if (!w || extra <= 0) return
    const { requestsPerWindow, windowSeconds } = this.limits
    if (w.count + extra > requestsPerWindow) {
      const oldest = w.times[w.head] ?? this.now()
      throw throttled(
        '0x80072322',
        `Number of requests exceeded the limit of ${requestsPerWindow} over time window of ${windowSeconds} seconds.`,
        Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - this.now()) / 1000)),
        this.limits,
        w,
      )
    }
    const now = this.now()
    for (let i = 0; i < extra; i++) {
      w.times.push(now)
      w.durations.push(0)
    }
  }

  /**
   * Admit `weight` requests (a `$batch` counts each inner request) for `callerId`, or throw a 429 fault with
   * `Retry-After`. Codes and messages follow "Service protection API limits" in Microsoft's Dataverse docs.
   */
  admit(callerId: string, weight = 1): Admission {
    const { requestsPerWindow, windowSeconds, executionTimeMs, concurrentRequests } = this.limits
    const now = this.now()
    const windowMs = windowSeconds * 1000
    let w = this.callers.get(callerId)
    if (!w) {
      w = new CallerWindow()
      this.callers.set(callerId, w)
    }
    w.prune(now, windowMs)
    // Retry-After is the time until the window frees enough for this request, not the whole window
    // ("Service protection API limits": "the Retry-After ... indicates the duration to wait").
    const until = (index: number) => {
      const start = w.times[w.head + index] ?? now
      return Math.max(1, Math.ceil((start + windowMs - now) / 1000))
    }
    /** Seconds until enough of the oldest requests leave the window to admit `weight` more. */
    const retryAfterCount = () => until(Math.max(0, w.count + weight - requestsPerWindow - 1))
    /** Seconds until enough execution time of the oldest requests leaves the window. */
    const retryAfterTime = () => {
      let total = w.totalMs
      let index = 0
      for (; w.head + index < w.times.length; index++) {
        total -= w.durations[w.head + index] as number
        if (total <= executionTimeMs) break
      }
      return until(index)
    }
    if (w.concurrent >= concurrentRequests) {
      throw throttled(
        '0x80072326',
        `Number of concurrent requests exceeded the limit of ${concurrentRequests}.`,
        1,
        this.limits,
        w,
      )
    }
    if (w.count + weight > requestsPerWindow) {
      throw throttled(
        '0x80072322',
        `Number of requests exceeded the limit of ${requestsPerWindow} over time window of ${windowSeconds} seconds.`,
        retryAfterCount(),
        this.limits,
        w,
      )
    }
    if (w.totalMs > executionTimeMs) {
      throw throttled(
        '0x80072321',
        `Combined execution time of incoming requests exceeded limit of ${executionTimeMs} milliseconds over time window of ${windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
        retryAfterTime(),
        this.limits,
        w,
      )
    }
    const absolute = w.base + w.times.length
    for (let i = 0; i < weight; i++) {
      w.times.push(now)
      w.durations.push(0)
    }
    w.concurrent++
    const window = w
    const headers = {
      'x-ms-ratelimit-burst-remaining-xrm-requests': String(requestsPerWindow - w.count),
      'x-ms-ratelimit-time-remaining-xrm-requests': String(
        Math.max(0, executionTimeMs - w.totalMs).toFixed(2),
      ),
    }
    let finished = false
    return {
      headers,
      done: () => {
        if (finished) return
        finished = true
        window.concurrent--
        const elapsed = this.now() - now
        // the slot may have been pruned already if the request outlived the window
        const index = absolute - window.base
        if (index >= window.head && index < window.times.length) {
          window.durations[index] = elapsed
          window.totalMs += elapsed
        }
      },
    }
  }
}

function throttled(
  code: string,
  message: string,
  retryAfterSeconds: number,
  limits: ServiceProtectionLimits,
  w: CallerWindow,
): DataverseFault {
  return new DataverseFault(429, code, message, {
    'Retry-After': String(retryAfterSeconds),
    'x-ms-ratelimit-burst-remaining-xrm-requests': String(Math.max(0, limits.requestsPerWindow - w.count)),
    'x-ms-ratelimit-time-remaining-xrm-requests': Math.max(0, limits.executionTimeMs - w.totalMs).toFixed(2),
  })
}
