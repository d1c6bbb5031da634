import { setTimeout as sleep } from 'node:timers/promises'

export interface ScheduleOptions {
  /** Interval between the starts of two runs; undefined runs once. A run longer than this is followed at once. */
  everyMs: number | undefined
  signal: AbortSignal
  /** True when the error means "stopped on purpose" (then the schedule ends). */
  isStop: (error: unknown) => boolean
  onError: (error: unknown) => void
  onWait: (next: Date) => void
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number
  /** Waits `ms`, rejecting when `signal` aborts (default: node's timers). Tests pass a fake clock's. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>
}

/**
 * Runs `run` once, or on a schedule: never two at a time, the next start `everyMs` after the previous start, a
 * failed run reported and retried at the next tick (its checkpoint makes it resume). Returns the exit code:
 * 0 after a single successful run, 130 when stopped through `signal`.
 * @throws the error of a single run (without `everyMs`)
 */
export async function runOnSchedule(run: () => Promise<unknown>, options: ScheduleOptions): Promise<number> {
  const now = options.now ?? Date.now
  const wait = options.sleep ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }))
  for (;;) {
    const startedAt = now()
    try {
      await run()
    } catch (error) {
      if (options.isStop(error) || options.signal.aborted) return 130
      if (options.everyMs === undefined) throw error
      options.onError(error)
    }
    if (options.everyMs === undefined) return 0
    const ms = Math.max(0, startedAt + options.everyMs - now())
    options.onWait(new Date(now() + ms))
    try {
      await wait(ms, options.signal)
    } catch {
      return 130
    }
  }
}
