import { EmulatorError } from './errors.ts'

/**
 * The emulator's clock: real time plus an offset that only grows. Everything the emulator issues and checks by time
 * reads it (token `iat` / `nbf` / `exp`, token verification at the orgs, authorization codes, refresh tokens, row
 * audit dates), so a test can move it forward instead of waiting.
 */
export interface EmulatorClock {
  /** The emulator's time, in milliseconds since the epoch. */
  now(): number
  /** How far ahead of real time the clock runs, in milliseconds. */
  readonly offsetMs: number
  /**
   * Moves the clock forward by `ms` milliseconds; returns the new time.
   * @throws {EmulatorError} 'INVALID_ARGUMENT' for a negative, fractional or non-finite amount.
   */
  advance(ms: number): number
  /** Back to real time. */
  reset(): void
}

export function createClock(realNow: () => number = () => Date.now()): EmulatorClock {
  let offset = 0
  return {
    now: () => realNow() + offset,
    get offsetMs() {
      return offset
    },
    advance(ms) {
      if (!Number.isSafeInteger(ms) || ms < 0)
        throw new EmulatorError(
          'INVALID_ARGUMENT',
          `The clock only moves forward by a whole number of milliseconds, not ${String(ms)}.`,
        )
      offset += ms
      return realNow() + offset
    },
    reset() {
      offset = 0
    },
  }
}
